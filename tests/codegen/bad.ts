// Wrong uses of the generated TypeScript tracker: each line below must fail to compile.
import type { Tracker } from "./tracking/index.js";

export function misuse(tracker: Tracker): void {
  tracker.trackAppOpened({ cold_start: true, sorce: "LINK" });
  tracker.trackAppOpened({ cold_start: "yes" });
  tracker.trackCheckoutCompletedV1({ order_id: "A-1", total: 1 });
  tracker.trackAppOpened({ cold_start: true, source: "MAIL" });
  tracker.trackCheckoutCompletedV1({ order_id: "A-1", total: 1, items: [{ sku: "x", qty: "2" }] });
}
