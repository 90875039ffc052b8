/** Test images: local builds by default (scripts/build-test-images.sh); Docker Hub images on a laptop. */
export const BUSYBOX_IMAGE = process.env.CP_TEST_BUSYBOX_IMAGE ?? 'local/busybox:latest';
export const POSTGRES_IMAGE = process.env.CP_TEST_POSTGRES_IMAGE ?? 'local/postgres:15';

/** The example stacks read their images from these variables. */
process.env.CP_POSTGRES_IMAGE = POSTGRES_IMAGE;
process.env.CP_BUSYBOX_IMAGE = BUSYBOX_IMAGE;
