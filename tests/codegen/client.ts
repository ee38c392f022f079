// Sends the events of tests/codegen_contracts.EXPECTED through the generated TypeScript tracker:
// node out/client.js ENDPOINT API_KEY. Prints {"ids": [...], "errors": [...]} as JSON.
import { Tracker, decimal } from "./tracking/index.js";
import type { TrackingError } from "./tracking/index.js";

const [endpoint = "", apiKey = ""] = process.argv.slice(2);
const errors: TrackingError[] = [];
const tracker = new Tracker({
  endpoint,
  apiKey,
  platform: "web",
  appVersion: "1.0.0",
  clientId: "device-ts",
  anonymousId: "anon-ts",
  flushIntervalMs: 60_000,
  maxAttempts: 4,
  retryDelayMs: 100,
  onError: (error) => errors.push(error),
});

const ids = [
  tracker.trackCheckoutCompleted({
    order_id: "A-1",
    total: 42.5,
    items: [
      { sku: "x", qty: 2 },
      { sku: 'y"é\n', qty: 1 },
    ],
    coupon: "WELCOME",
    paid_at: new Date("2026-11-25T10:00:00.123Z"),
    currency: "USD",
    amount: "1234.50",
    tags: { b: "2", a: "1" },
    delivered_on: "2026-11-27",
    session_id: "0b7d6f3e-2c4a-4f0e-9d55-3f1c2a9b8e71",
    attachment: new Uint8Array([0, 1, 2, 255]),
    measured_at: new Date("2026-11-25T10:00:00.500Z"),
    shipping: { street: "1 Main St", city: "Paris" },
    gift: { code: "G-1", value: decimal(25, 2) },
    digest: new Uint8Array([1, 2, 3, 4]),
    pickup_time: "10:30:00",
    local_pickup: "2026-11-27T10:30:00",
    priority: 3,
    rating: 4.5,
    express: true,
    metrics: { clicks: [1, 2, 3] },
  }),
  tracker.trackCheckoutCompleted({
    order_id: "A-2",
    total: 0,
    items: [],
    paid_at: new Date(Date.UTC(2026, 10, 25, 11)),
    amount: "0.05",
    session_id: "9f3c2a1b-0000-4000-8000-000000000002",
    shipping: { street: "2 Side St", city: "Lyon", zip: "69001" },
    gift: 7,
  }),
  tracker.trackCheckoutCompletedV1({ order_id: "A-3", total: 9.99, items: [{ sku: "z", qty: 3 }] }),
  tracker.trackAppOpened(
    { cold_start: true, source: "LINK" },
    { userId: "user-1", context: { locale: "fr-FR", screen: { width: 390, height: 844 } } },
  ),
];
await tracker.flush();
console.log(JSON.stringify({ ids, errors }));
