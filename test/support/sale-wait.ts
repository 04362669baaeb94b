import type { SaleEngine } from '../../host/sale/sale-engine.js';
import type { SaleSnapshot } from '../../host/sale/sale-types.js';

/** Resolve with the first snapshot of this sale (current or future) that satisfies `pred`. */
export function saleWhere(
  engine: SaleEngine,
  saleId: string,
  pred: (s: SaleSnapshot) => boolean,
  timeoutMs = 10_000,
): Promise<SaleSnapshot> {
  return new Promise((resolve, reject) => {
    const check = (s: SaleSnapshot | undefined) => {
      if (s && s.saleId === saleId && pred(s)) {
        cleanup();
        resolve(s);
      }
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(
        new Error(`sale ${saleId}: condition not met in ${timeoutMs} ms (now ${JSON.stringify(engine.get(saleId))})`),
      );
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      engine.off('sale', check);
    };
    engine.on('sale', check);
    check(engine.get(saleId));
  });
}
