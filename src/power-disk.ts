// Entry of dist/power-disk.js, the lazy disk's server (run as root): node power-disk.js IMAGE MOUNTPOINT CAP_BYTES
import { serveDisk } from './power/disk-server.js';

const [image, mountpoint, cap] = process.argv.slice(2);
if (!image || !mountpoint || !cap || !/^\d+$/.test(cap)) {
  process.stderr.write('usage: power-disk.js IMAGE MOUNTPOINT CAP_BYTES\n');
  process.exit(2);
}
process.exitCode = await serveDisk({ image, mountpoint, capBytes: Number(cap) });
