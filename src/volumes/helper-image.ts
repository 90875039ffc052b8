import type { Engine } from '../docker/engine.js';
import { UserError, errorMessage } from '../errors.js';
import { Inputs } from '../constants.js';
import { imagesMounting, type NamedVolume, type StackModel } from '../stack/model.js';

/** Small images tried, in order, when neither the input nor a service names one. */
export const FALLBACK_HELPER_IMAGES = ['busybox:latest', 'local/busybox:latest', 'alpine:latest'];

/**
 * The image helper containers are created from: the helper-image input, else the first candidate already
 * on the engine (service images first), else busybox pulled once.
 */
export async function resolveHelperImage(
  engine: Engine,
  explicit: string | undefined,
  candidates: string[] = [],
): Promise<string> {
  if (explicit) return explicit;
  for (const image of [...candidates, ...FALLBACK_HELPER_IMAGES]) {
    if (await engine.hasImage(image)) return image;
  }
  const pulled = FALLBACK_HELPER_IMAGES[0] as string;
  try {
    await engine.pullImage(pulled);
    return pulled;
  } catch (error) {
    throw new UserError(
      `No helper image is available and ${pulled} could not be pulled (${errorMessage(error)}): set ${Inputs.HelperImage} to an image present on the engine.`,
    );
  }
}

/** The helper image for one of the stack's volumes: the input, else an image of a service that mounts it. */
export function helperImageForVolume(
  engine: Engine,
  model: StackModel,
  volume: NamedVolume,
  explicit: string | undefined,
): Promise<string> {
  return resolveHelperImage(engine, explicit, imagesMounting(model, volume));
}
