import { auditWritableLayers } from '../check/layer-audit.js';
import type { Settings } from '../inputs.js';
import { serviceContainers } from '../stack/lifecycle.js';
import type { PhaseOutcome } from '../types/outcomes.js';
import { runningStack, type Phase } from './phase.js';

export type LayerAuditSettings = Pick<Settings, 'layerAudit' | 'layerIgnore'>;

/** Before any restart: re-creation throws the writable layer away, and with it the evidence. */
export const layerAuditPhase: Phase = {
  name: 'layer-audit',
  async run(input): Promise<PhaseOutcome> {
    const settings: LayerAuditSettings = input.settings;
    const stack = runningStack(input);
    if (settings.layerAudit === 'off') return { phase: 'layer-audit', audit: { mode: 'off', findings: [] } };
    const findings = await input.log.group('Audit writable layers', async () =>
      auditWritableLayers(
        stack.engine,
        await serviceContainers(stack.engine, stack.model.project),
        settings.layerIgnore,
        stack.model.tmpfs,
      ),
    );
    return { phase: 'layer-audit', audit: { mode: settings.layerAudit, findings } };
  },
};
