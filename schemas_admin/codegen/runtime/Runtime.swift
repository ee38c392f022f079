import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

// The runtime of the generated tracking code: JSON encodings of the contracts' logical types,
// the event envelope and a transport that batches events and retries on 429 and 503.
// It needs Foundation only (iOS 15, macOS 12, tvOS 15, watchOS 8 or later).

/// A coding key written as a string literal: `forKey: "order_id"`.
public struct JSONKey: CodingKey, ExpressibleByStringLiteral {
    public let stringValue: String
    public var intValue: Int? { nil }

    public init(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { return nil }
    public init(stringLiteral value: String) { self.stringValue = value }
}

private func padded(_ value: Int, _ width: Int) -> String {
    let text = String(value)
    return String(repeating: "0", count: max(0, width - text.count)) + text
}

private func fraction(_ nanoseconds: Int, micros: Bool) -> String {
    micros ? "." + padded(nanoseconds / 1_000, 6) : "." + padded(nanoseconds / 1_000_000, 3)
}

/// Avro `timestamp-millis` / `timestamp-micros`: ISO-8601 in UTC with `Z`.
public struct Timestamp: Encodable, Sendable {
    public let date: Date
    public let micros: Bool

    public init(_ date: Date, micros: Bool) {
        self.date = date
        self.micros = micros
    }

    public var text: String {
        let perSecond: Int64 = micros ? 1_000_000 : 1_000
        let units = Int64((date.timeIntervalSince1970 * Double(perSecond)).rounded(.down))
        var seconds = units / perSecond
        var rest = units % perSecond
        if rest < 0 {
            rest += perSecond
            seconds -= 1
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents(
            [.year, .month, .day, .hour, .minute, .second],
            from: Date(timeIntervalSince1970: TimeInterval(seconds))
        )
        let nanoseconds = Int(rest) * (micros ? 1_000 : 1_000_000)
        return padded(parts.year ?? 1970, 4) + "-" + padded(parts.month ?? 1, 2) + "-"
            + padded(parts.day ?? 1, 2) + "T" + padded(parts.hour ?? 0, 2) + ":"
            + padded(parts.minute ?? 0, 2) + ":" + padded(parts.second ?? 0, 2)
            + fraction(nanoseconds, micros: micros) + "Z"
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }
}

/// Avro `date`: a calendar date, written `YYYY-MM-DD`.
public struct LocalDate: Encodable, Hashable, Sendable {
    public var year: Int
    public var month: Int
    public var day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// The calendar date of `date` in `timeZone`.
    public init(_ date: Date, in timeZone: TimeZone = .current) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        self.init(year: parts.year ?? 1970, month: parts.month ?? 1, day: parts.day ?? 1)
    }

    public var text: String { padded(year, 4) + "-" + padded(month, 2) + "-" + padded(day, 2) }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }
}

/// Avro `time-millis` / `time-micros`: a time of day, written `HH:MM:SS.ffffff`.
public struct LocalTime: Encodable, Hashable, Sendable {
    public var hour: Int
    public var minute: Int
    public var second: Int
    public var nanosecond: Int

    public init(hour: Int, minute: Int, second: Int = 0, nanosecond: Int = 0) {
        self.hour = hour
        self.minute = minute
        self.second = second
        self.nanosecond = nanosecond
    }

    public var text: String {
        padded(hour, 2) + ":" + padded(minute, 2) + ":" + padded(second, 2)
            + fraction(nanosecond, micros: true)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }
}

/// Avro `local-timestamp-millis` / `-micros`: a date and time without a UTC offset.
public struct LocalDateTime: Encodable, Hashable, Sendable {
    public var date: LocalDate
    public var time: LocalTime

    public init(date: LocalDate, time: LocalTime) {
        self.date = date
        self.time = time
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(date.text + "T" + time.text)
    }
}

/// Avro `decimal`: exact text; encoding fails when the value does not fit the contract.
public struct DecimalText: Encodable, Sendable {
    public let value: Decimal
    public let precision: Int
    public let scale: Int

    public init(_ value: Decimal, precision: Int, scale: Int) {
        self.value = value
        self.precision = precision
        self.scale = scale
    }

    public func encode(to encoder: Encoder) throws {
        let text = value.description
        let digits = text.hasPrefix("-") ? String(text.dropFirst()) : text
        let parts = digits.split(separator: ".", omittingEmptySubsequences: false)
        let integer = parts.first.map { whole in whole.drop(while: { $0 == "0" }).count } ?? 0
        let decimals = parts.count > 1 ? parts[1].count : 0
        guard value.isFinite, decimals <= scale, integer <= precision - scale else {
            throw EncodingError.invalidValue(value, EncodingError.Context(
                codingPath: encoder.codingPath,
                debugDescription: "\(text) does not fit decimal(\(precision), \(scale))"
            ))
        }
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }
}

/// Avro `bytes` and `fixed`: base64; a `fixed` must have its exact size.
public struct Base64Bytes: Encodable, Sendable {
    public let data: Data
    public let size: Int?

    public init(_ data: Data, size: Int? = nil) {
        self.data = data
        self.size = size
    }

    public func encode(to encoder: Encoder) throws {
        if let size, data.count != size {
            throw EncodingError.invalidValue(data, EncodingError.Context(
                codingPath: encoder.codingPath,
                debugDescription: "\(data.count) bytes where the contract holds exactly \(size)"
            ))
        }
        var container = encoder.singleValueContainer()
        try container.encode(data.base64EncodedString())
    }
}

/// Avro `null`.
public struct AvroNull: Encodable, Hashable, Sendable {
    public init() {}

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encodeNil()
    }
}

/// A JSON value of an event's `context`: `["locale": "en-US", "screen": ["width": 390]]`.
public enum ContextValue: Encodable, Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral, ExpressibleByDictionaryLiteral,
    ExpressibleByArrayLiteral, ExpressibleByNilLiteral
{
    case string(String)
    case number(Double)
    case bool(Bool)
    case object([String: ContextValue])
    case array([ContextValue])
    case null

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(dictionaryLiteral elements: (String, ContextValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(arrayLiteral elements: ContextValue...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .null }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .null: try container.encodeNil()
        }
    }
}

/// Per-event settings of a `track...` call.
public struct TrackOptions: Sendable {
    /// When the event happened; default: now.
    public var timestamp: Date?
    /// The event's id; default: a new random UUID. Resending an event with its id is harmless.
    public var eventId: UUID?
    /// Overrides the tracker's `userId` for this event.
    public var userId: String?
    /// Overrides the tracker's `anonymousId` for this event.
    public var anonymousId: String?
    /// Overrides the tracker's `context` for this event.
    public var context: [String: ContextValue]?

    public init(
        timestamp: Date? = nil, eventId: UUID? = nil, userId: String? = nil,
        anonymousId: String? = nil, context: [String: ContextValue]? = nil
    ) {
        self.timestamp = timestamp
        self.eventId = eventId
        self.userId = userId
        self.anonymousId = anonymousId
        self.context = context
    }
}

/// One event the collector refused, from its answer's `errors`.
public struct EventError: Sendable {
    public let eventId: String
    public let code: String
    public let field: String?
    public let message: String
}

/// Something the transport could not deliver.
public struct TrackingError: Error, Sendable {
    public enum Kind: Sendable {
        /// The collector refused these events (see `errors`); sending them again will not help.
        case rejected
        /// The collector refused the whole request (400, 401, 413, 415: see `status`).
        case refused
        /// The collector stayed unavailable (429, 5xx, network) for `maxAttempts` attempts.
        case gaveUp
        /// The queue held `maxQueueSize` events, so the oldest were dropped.
        case dropped
    }

    public let kind: Kind
    public let message: String
    public let status: Int?
    public let eventIds: [String]
    public let errors: [EventError]
}

/// Where and how events are sent.
public struct TrackerConfiguration: Sendable {
    /// The collector's URL, such as `https://analytics.example.com/api/v1/events`.
    public var endpoint: URL
    /// The client app's API key, sent as `Authorization: Api-Key <key>`.
    public var apiKey: String
    /// `ios`, `android`, `web`, `backend`, ... (1-32 characters).
    public var platform: String
    /// The version of the sending app (1-64 characters).
    public var appVersion: String
    /// The device or install id: one client's events keep their order.
    public var clientId: String?
    public var userId: String?
    public var anonymousId: String?
    public var context: [String: ContextValue]?
    /// Events per request, 1 to 500; a full batch is sent at once.
    public var batchSize: Int = 50
    /// Longest wait of a queued event before its batch is sent, in seconds.
    public var flushInterval: TimeInterval = 5
    /// Events kept while the collector is unreachable; beyond that the oldest are dropped.
    public var maxQueueSize: Int = 10_000
    /// Attempts per batch on 429, 5xx and network errors.
    public var maxAttempts: Int = 10
    /// First retry delay when the answer has no `Retry-After`, doubled on each attempt, in seconds.
    public var retryDelay: TimeInterval = 1
    /// Longest wait before a retry, `Retry-After` included, in seconds.
    public var maxRetryDelay: TimeInterval = 300
    public var session: URLSession = .shared
    /// Called with every event the transport could not deliver.
    public var onError: @Sendable (TrackingError) -> Void = { print("analytics: \($0.message)") }

    public init(
        endpoint: URL, apiKey: String, platform: String, appVersion: String,
        clientId: String? = nil, userId: String? = nil, anonymousId: String? = nil,
        context: [String: ContextValue]? = nil
    ) {
        self.endpoint = endpoint
        self.apiKey = apiKey
        self.platform = platform
        self.appVersion = appVersion
        self.clientId = clientId
        self.userId = userId
        self.anonymousId = anonymousId
        self.context = context
    }
}

/// Queues serialized events and sends them in batches, retrying on 429, 5xx and network
/// errors (after `Retry-After` when the collector sends one).
public final class Transport: @unchecked Sendable {
    private struct Queued {
        let id: String
        let json: Data
    }

    private let configuration: TrackerConfiguration
    private let lock = NSLock()
    private var queue: [Queued] = []
    private var timer: Task<Void, Never>?
    private var last: Task<Void, Never>?

    public init(configuration: TrackerConfiguration) {
        precondition((1...500).contains(configuration.batchSize), "batchSize must be from 1 to 500")
        self.configuration = configuration
    }

    /// Queues one event, a JSON object without `sent_at`.
    public func enqueue(id: String, json: Data) {
        var dropped: [Queued] = []
        lock.lock()
        queue.append(Queued(id: id, json: json))
        if queue.count > configuration.maxQueueSize {
            dropped = Array(queue.prefix(queue.count - configuration.maxQueueSize))
            queue.removeFirst(dropped.count)
        }
        let full = queue.count >= configuration.batchSize
        if !full && timer == nil {
            let delay = UInt64(configuration.flushInterval * 1_000_000_000)
            timer = Task { [weak self] in
                try? await Task.sleep(nanoseconds: delay)
                await self?.flush()
            }
        }
        lock.unlock()
        if !dropped.isEmpty {
            report(.dropped, "the queue is full; the oldest events were dropped", nil, dropped)
        }
        if full {
            _ = chain()
        }
    }

    /// Sends every queued event; returns once each is delivered or reported to `onError`.
    public func flush() async {
        await chain().value
    }

    private func chain() -> Task<Void, Never> {
        lock.lock()
        defer { lock.unlock() }
        let previous = last
        let task = Task { [self] in
            await previous?.value
            while let batch = take() {
                await send(batch)
            }
        }
        last = task
        return task
    }

    private func take() -> [Queued]? {
        lock.lock()
        defer { lock.unlock() }
        timer?.cancel()
        timer = nil
        guard !queue.isEmpty else { return nil }
        let batch = Array(queue.prefix(configuration.batchSize))
        queue.removeFirst(batch.count)
        return batch
    }

    private func send(_ batch: [Queued]) async {
        var problem = ""
        var lastStatus: Int?
        for attempt in 1...max(1, configuration.maxAttempts) {
            // Every attempt says when it was sent, so the collector can correct the client's clock.
            let sentAt = Timestamp(Date(), micros: true).text
            var body = Data("[".utf8)
            for (index, item) in batch.enumerated() {
                if index > 0 { body.append(contentsOf: Array(",".utf8)) }
                body.append(item.json.dropLast())
                body.append(contentsOf: Array(",\"sent_at\":\"\(sentAt)\"}".utf8))
            }
            body.append(contentsOf: Array("]".utf8))
            var request = URLRequest(url: configuration.endpoint)
            request.httpMethod = "POST"
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.setValue("Api-Key \(configuration.apiKey)", forHTTPHeaderField: "Authorization")
            request.httpBody = body
            let data: Data
            let response: HTTPURLResponse
            do {
                let (received, answer) = try await configuration.session.data(for: request)
                guard let http = answer as? HTTPURLResponse else { throw URLError(.badServerResponse) }
                data = received
                response = http
            } catch {
                problem = "the collector could not be reached: \(error)"
                lastStatus = nil
                await pause(backoff(attempt))
                continue
            }
            let answer = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
            let status = response.statusCode
            if status == 202 || (status == 400 && answer?["errors"] is [Any]) {
                reportItems(status, answer, batch)
                return
            }
            let detail = (answer?["detail"] as? String).map { ": \($0)" } ?? ""
            if status == 429 || status >= 500 {
                problem = "the collector answered \(status)\(detail)"
                lastStatus = status
                await pause(retryAfter(response.value(forHTTPHeaderField: "Retry-After")) ?? backoff(attempt))
                continue
            }
            report(.refused, "the collector refused the request: \(status)\(detail)", status, batch)
            return
        }
        report(.gaveUp, "\(problem); gave up after \(configuration.maxAttempts) attempts", lastStatus, batch)
    }

    private func reportItems(_ status: Int, _ answer: [String: Any]?, _ batch: [Queued]) {
        let items = (answer?["errors"] as? [[String: Any]]) ?? []
        let errors = items.map { item -> EventError in
            let index = (item["index"] as? Int) ?? -1
            return EventError(
                eventId: batch.indices.contains(index) ? batch[index].id : "",
                code: (item["code"] as? String) ?? "",
                field: item["field"] as? String,
                message: (item["message"] as? String) ?? ""
            )
        }
        guard let first = errors.first else { return }
        configuration.onError(TrackingError(
            kind: .rejected, message: "the collector refused \(errors.count) event(s): \(first.message)",
            status: status, eventIds: errors.map(\.eventId), errors: errors
        ))
    }

    private func report(_ kind: TrackingError.Kind, _ message: String, _ status: Int?, _ batch: [Queued]) {
        configuration.onError(TrackingError(
            kind: kind, message: message, status: status, eventIds: batch.map(\.id), errors: []
        ))
    }

    private func backoff(_ attempt: Int) -> TimeInterval {
        let delay = configuration.retryDelay * pow(2, Double(min(attempt - 1, 30)))
        return min(delay * Double.random(in: 0.5...1), configuration.maxRetryDelay)
    }

    private func retryAfter(_ header: String?) -> TimeInterval? {
        guard let header = header?.trimmingCharacters(in: .whitespaces) else { return nil }
        if let seconds = TimeInterval(header) {
            return min(max(seconds, 0), configuration.maxRetryDelay)
        }
        let format = DateFormatter()
        format.locale = Locale(identifier: "en_US_POSIX")
        format.timeZone = TimeZone(identifier: "GMT")
        format.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = format.date(from: header) else { return nil }
        return min(max(date.timeIntervalSinceNow, 0), configuration.maxRetryDelay)
    }

    private func pause(_ seconds: TimeInterval) async {
        try? await Task.sleep(nanoseconds: UInt64(max(seconds, 0) * 1_000_000_000))
    }
}

private struct Envelope<Properties: Encodable>: Encodable {
    let event: String
    let timestamp: Timestamp
    let platform: String
    let appVersion: String
    let properties: Properties
    let eventId: String
    let contractVersion: Int
    let clientId: String?
    let userId: String?
    let anonymousId: String?
    let context: [String: ContextValue]?

    enum CodingKeys: String, CodingKey {
        case event, timestamp, platform, properties, context
        case appVersion = "app_version"
        case eventId = "event_id"
        case contractVersion = "contract_version"
        case clientId = "client_id"
        case userId = "user_id"
        case anonymousId = "anonymous_id"
    }
}

/// Builds each event's envelope and hands it to the transport; the generated `Tracker` adds a
/// typed `track...` method per event.
open class TrackerBase: @unchecked Sendable {
    public let transport: Transport
    private let configuration: TrackerConfiguration
    private let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    public var clientId: String?
    public var userId: String?
    public var anonymousId: String?
    public var context: [String: ContextValue]?

    public init(configuration: TrackerConfiguration) {
        self.configuration = configuration
        self.transport = Transport(configuration: configuration)
        self.clientId = configuration.clientId
        self.userId = configuration.userId
        self.anonymousId = configuration.anonymousId
        self.context = configuration.context
    }

    /// Sends every queued event; returns once each is delivered or reported to `onError`.
    public func flush() async {
        await transport.flush()
    }

    /// Queues one event and returns its id; throws `EncodingError` for a value the contract
    /// cannot hold (a decimal with too many digits, a `fixed` of the wrong size).
    public func track<Properties: Encodable>(
        _ event: String, version: Int, properties: Properties, options: TrackOptions
    ) throws -> UUID {
        let eventId = options.eventId ?? UUID()
        let envelope = Envelope(
            event: event,
            timestamp: Timestamp(options.timestamp ?? Date(), micros: true),
            platform: configuration.platform,
            appVersion: configuration.appVersion,
            properties: properties,
            eventId: eventId.uuidString.lowercased(),
            contractVersion: version,
            clientId: clientId,
            userId: options.userId ?? userId,
            anonymousId: options.anonymousId ?? anonymousId,
            context: options.context ?? context
        )
        transport.enqueue(id: eventId.uuidString.lowercased(), json: try encoder.encode(envelope))
        return eventId
    }
}
