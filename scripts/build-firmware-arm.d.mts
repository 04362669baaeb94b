// Types of scripts/build-firmware-arm.mjs, for the TypeScript that imports it (test/firmware/arm-*, bench/firmware.ts).
export const ROOT: string;
export const OUT_DIR: string;
export const FLASH_GEOMETRY: { pageSize: number; pageCount: number; writeUnit: number };
export interface ImageOutputs {
  elf: string;
  map: string;
  su: string;
  rebuilt: boolean;
}
export function imageSources(): Record<'cardpost-card' | 'cardpost-selftest', string[]>;
export function buildImage(name: string, sources: string[], opts?: { force?: boolean }): ImageOutputs;
export function buildFirmwareArm(opts?: { force?: boolean; images?: string[] }): Record<string, ImageOutputs>;
export function objectPath(src: string): string;
export function linkFlags(extra?: string[]): string[];
export function buildHostedProgram(p: {
  name: string;
  sources: string[];
  includes?: string[];
  defines?: string[];
}): string;
