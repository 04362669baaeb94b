/**
 * Shared by the ARM suites (test/firmware/arm-*.test.ts, test/conformance/card-qemu.test.ts): make
 * sure the tools are there (or skip / fail under REQUIRE_SYSTEM=1) and the images are built.
 */
import { buildFirmwareArm } from '../../scripts/build-firmware-arm.mjs';
import { REQUIRE_SYSTEM, requireSystem, which } from '../support/system.js';

const TOOLS = ['arm-none-eabi-gcc', 'qemu-system-arm'];
const INSTALL = 'apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm';

/** Call from a `before` hook; builds both images (cached when nothing changed). */
export function requireArmImages(ctx: Mocha.Context): void {
  requireSystem(
    ctx,
    TOOLS.filter((t) => !which(t)),
    INSTALL,
  );
  ctx.timeout(300_000);
  buildFirmwareArm();
}

/** For fixtures that cannot skip through a mocha context: false (skip) when the tools are missing,
 * a failure under REQUIRE_SYSTEM=1; builds the images when they can be built. */
export function armImagesReady(): boolean {
  const missing = TOOLS.filter((t) => !which(t));
  if (missing.length) {
    if (REQUIRE_SYSTEM) throw new Error(`REQUIRE_SYSTEM=1 but missing ${missing.join(', ')} (install: ${INSTALL})`);
    console.log(`      skipped: missing ${missing.join(', ')} (install: ${INSTALL})`);
    return false;
  }
  buildFirmwareArm();
  return true;
}
