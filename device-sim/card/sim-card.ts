import { CardApplet, type AppletOptions } from './applet.js';
import { FileBacking, MemoryBacking, Nvm } from './nvm.js';

/** A simulated card whose NVM lives in `stateFile` (created blank if missing), or in memory. */
export function openSimCard(stateFile: string | undefined, opts: AppletOptions = {}): CardApplet {
  const nvm = new Nvm(stateFile ? new FileBacking(stateFile) : new MemoryBacking());
  return new CardApplet(nvm, opts);
}
