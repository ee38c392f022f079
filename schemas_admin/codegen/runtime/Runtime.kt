import java.math.BigDecimal
import java.net.HttpURLConnection
import java.net.URI
import java.nio.charset.StandardCharsets.UTF_8
import java.time.Duration
import java.time.Instant
import java.time.LocalDate
import java.time.LocalDateTime
import java.time.LocalTime
import java.time.ZonedDateTime
import java.time.format.DateTimeFormatter
import java.time.temporal.ChronoUnit
import java.util.Base64
import java.util.UUID
import java.util.concurrent.Executors
import java.util.concurrent.ScheduledFuture
import java.util.concurrent.ThreadLocalRandom
import java.util.concurrent.TimeUnit

// The runtime of the generated tracking code: a JSON writer, the event envelope and a transport
// that batches events and retries on 429 and 503. It needs the JDK (or Android API 26+) only.

/** A value the generated code writes as the JSON the collector's matcher reads. */
interface JsonValue {
    fun writeJson(json: JsonWriter)
}

/** Writes compact JSON. Logical types are written as the matcher reads them. */
class JsonWriter {
    private val out = StringBuilder()
    private val first = ArrayDeque<Boolean>()
    private var afterName = false

    private fun separate() {
        if (afterName) {
            afterName = false
        } else if (first.isNotEmpty()) {
            if (!first.removeLast()) out.append(',')
            first.addLast(false)
        }
    }

    fun beginObject(): JsonWriter = apply { separate(); out.append('{'); first.addLast(true) }

    fun endObject(): JsonWriter = apply { first.removeLast(); out.append('}') }

    fun beginArray(): JsonWriter = apply { separate(); out.append('['); first.addLast(true) }

    fun endArray(): JsonWriter = apply { first.removeLast(); out.append(']') }

    fun name(name: String): JsonWriter = apply { separate(); string(name); out.append(':'); afterName = true }

    fun nullValue(): JsonWriter = apply { separate(); out.append("null") }

    fun value(value: String): JsonWriter = apply { separate(); string(value) }

    fun value(value: Boolean): JsonWriter = apply { separate(); out.append(value) }

    fun value(value: Int): JsonWriter = apply { separate(); out.append(value) }

    fun value(value: Long): JsonWriter = apply { separate(); out.append(value) }

    fun value(value: Float): JsonWriter = apply {
        require(value.isFinite()) { "$value cannot be sent as JSON" }
        separate()
        out.append(value)
    }

    fun value(value: Double): JsonWriter = apply {
        require(value.isFinite()) { "$value cannot be sent as JSON" }
        separate()
        out.append(value)
    }

    /** Avro `bytes` and `fixed`: base64. */
    fun bytes(value: ByteArray): JsonWriter = value(Base64.getEncoder().encodeToString(value))

    /** Avro `date`: `YYYY-MM-DD`. */
    fun date(value: LocalDate): JsonWriter = value(DateTimeFormatter.ISO_LOCAL_DATE.format(value))

    /** Avro `time-millis` / `time-micros`: `HH:MM:SS.fff`. */
    fun time(value: LocalTime, micros: Boolean): JsonWriter =
        value(DateTimeFormatter.ISO_LOCAL_TIME.format(value.truncatedTo(unit(micros))))

    /** Avro `timestamp-millis` / `timestamp-micros`: ISO-8601 in UTC, with `Z`. */
    fun timestamp(value: Instant, micros: Boolean): JsonWriter =
        value(DateTimeFormatter.ISO_INSTANT.format(value.truncatedTo(unit(micros))))

    /** Avro `local-timestamp-millis` / `-micros`: ISO-8601 without offset. */
    fun localTimestamp(value: LocalDateTime, micros: Boolean): JsonWriter =
        value(DateTimeFormatter.ISO_LOCAL_DATE_TIME.format(value.truncatedTo(unit(micros))))

    /** Avro `uuid`: the canonical lowercase form. */
    fun uuid(value: UUID): JsonWriter = value(value.toString())

    /** Avro `decimal`: exact text, refused when it does not fit the contract's precision and scale. */
    fun decimal(value: BigDecimal, precision: Int, scale: Int): JsonWriter {
        val scaled = value.stripTrailingZeros().let { if (it.scale() < 0) it.setScale(0) else it }
        require(scaled.scale() <= scale) { "$value has more than $scale decimal places" }
        require(scaled.precision() - scaled.scale() <= precision - scale) {
            "$value has more than $precision digits with $scale decimal places"
        }
        return value(scaled.toPlainString())
    }

    fun <T> array(values: List<T>, write: JsonWriter.(T) -> Unit): JsonWriter = apply {
        beginArray()
        for (item in values) write(item)
        endArray()
    }

    fun <T> map(values: Map<String, T>, write: JsonWriter.(T) -> Unit): JsonWriter = apply {
        beginObject()
        for ((key, item) in values.entries.sortedBy { it.key }) {
            name(key)
            write(item)
        }
        endObject()
    }

    fun <T : Any> optional(value: T?, write: JsonWriter.(T) -> Unit): JsonWriter =
        if (value == null) nullValue() else apply { write(value) }

    /** Plain values (maps, lists, strings, numbers, booleans, null), such as an event's context. */
    fun any(value: Any?): JsonWriter = when (value) {
        null -> nullValue()
        is String -> value(value)
        is Boolean -> value(value)
        is Int -> value(value)
        is Long -> value(value)
        is Float -> value(value)
        is Double -> value(value)
        is Number -> value(value.toDouble())
        is JsonValue -> apply { value.writeJson(this) }
        is Map<*, *> -> apply {
            beginObject()
            for ((key, item) in value) {
                name(key.toString())
                any(item)
            }
            endObject()
        }
        is Iterable<*> -> apply {
            beginArray()
            for (item in value) any(item)
            endArray()
        }
        else -> throw IllegalArgumentException("${value::class.java.name} cannot be sent as JSON")
    }

    private fun string(value: String) {
        out.append('"')
        for (char in value) {
            when {
                char == '"' -> out.append("\\\"")
                char == '\\' -> out.append("\\\\")
                char == '\n' -> out.append("\\n")
                char == '\r' -> out.append("\\r")
                char == '\t' -> out.append("\\t")
                char < ' ' || char == '\u2028' || char == '\u2029' ->
                    out.append("\\u").append(String.format("%04x", char.code))
                else -> out.append(char)
            }
        }
        out.append('"')
    }

    private fun unit(micros: Boolean) = if (micros) ChronoUnit.MICROS else ChronoUnit.MILLIS

    override fun toString(): String = out.toString()
}

/** Per-event settings of a `track...` call. */
data class TrackOptions(
    /** When the event happened; default: now. */
    val timestamp: Instant? = null,
    /** The event's id; default: a new random UUID. Resending an event with its id is harmless. */
    val eventId: UUID? = null,
    /** Overrides the tracker's `userId` for this event. */
    val userId: String? = null,
    /** Overrides the tracker's `anonymousId` for this event. */
    val anonymousId: String? = null,
    /** Overrides the tracker's `context` for this event. */
    val context: Map<String, Any?>? = null,
)

/** One event the collector refused, from its answer's `errors`. */
data class EventError(val eventId: String, val code: String, val field: String?, val message: String)

/** Something the transport could not deliver; see [Kind]. */
class TrackingError(
    val kind: Kind,
    message: String,
    val status: Int?,
    val eventIds: List<String>,
    val errors: List<EventError> = emptyList(),
) : Exception(message) {
    enum class Kind {
        /** The collector refused these events (see [errors]); sending them again will not help. */
        REJECTED,

        /** The collector refused the whole request (400, 401, 413, 415: see [status]). */
        REFUSED,

        /** The collector stayed unavailable (429, 5xx, network) for `maxAttempts` attempts. */
        GAVE_UP,

        /** The queue held `maxQueueSize` events, so the oldest were dropped. */
        DROPPED,
    }
}

/** Where and how events are sent. */
class TrackerConfig(
    /** The collector's URL, such as `https://analytics.example.com/api/v1/events`. */
    val endpoint: String,
    /** The client app's API key, sent as `Authorization: Api-Key <key>`. */
    val apiKey: String,
    /** `ios`, `android`, `web`, `backend`, ... (1-32 characters). */
    val platform: String,
    /** The version of the sending app (1-64 characters). */
    val appVersion: String,
    /** The device or install id: one client's events keep their order. */
    val clientId: String? = null,
    val userId: String? = null,
    val anonymousId: String? = null,
    val context: Map<String, Any?>? = null,
    /** Events per request, 1 to 500; a full batch is sent at once. */
    val batchSize: Int = 50,
    /** Longest wait of a queued event before its batch is sent. */
    val flushInterval: Duration = Duration.ofSeconds(5),
    /** Events kept while the collector is unreachable; beyond that the oldest are dropped. */
    val maxQueueSize: Int = 10_000,
    /** Attempts per batch on 429, 5xx and network errors. */
    val maxAttempts: Int = 10,
    /** First retry delay when the answer has no `Retry-After`, doubled on each attempt. */
    val retryDelay: Duration = Duration.ofSeconds(1),
    /** Longest wait before a retry, `Retry-After` included. */
    val maxRetryDelay: Duration = Duration.ofMinutes(5),
    val connectTimeout: Duration = Duration.ofSeconds(10),
    val readTimeout: Duration = Duration.ofSeconds(30),
    /** Called, on the transport's thread, with every event the transport could not deliver; it
     * must not call `flush()` or `close()`, which wait for that thread. */
    val onError: (TrackingError) -> Unit = { System.err.println("analytics: ${it.message}") },
) {
    init {
        require(batchSize in 1..500) { "batchSize must be from 1 to 500" }
        require(maxAttempts >= 1) { "maxAttempts must be at least 1" }
    }
}

/**
 * Queues serialized events and sends them in batches from one background thread, retrying on
 * 429, 5xx and network errors (after `Retry-After` when the collector sends one).
 */
class Transport(private val config: TrackerConfig) : AutoCloseable {
    private class Queued(val id: String, val json: String)

    private val lock = Any()
    private val queue = ArrayDeque<Queued>()
    private var timer: ScheduledFuture<*>? = null
    private val executor = Executors.newSingleThreadScheduledExecutor { task ->
        Thread(task, "analytics-transport").apply { isDaemon = true }
    }

    /** Queues one event, a JSON object without `sent_at`. */
    fun enqueue(id: String, json: String) {
        val dropped = mutableListOf<Queued>()
        val full: Boolean
        synchronized(lock) {
            queue.addLast(Queued(id, json))
            while (queue.size > config.maxQueueSize) dropped.add(queue.removeFirst())
            full = queue.size >= config.batchSize
            if (!full && timer == null) {
                timer = executor.schedule({ drain() }, config.flushInterval.toMillis(), TimeUnit.MILLISECONDS)
            }
        }
        if (dropped.isNotEmpty()) {
            report(TrackingError.Kind.DROPPED, "the queue is full; the oldest events were dropped", null, dropped)
        }
        if (full) executor.execute { drain() }
    }

    /** Sends every queued event; returns once each is delivered or reported to `onError`. */
    fun flush() {
        executor.submit { drain() }.get()
    }

    /** Sends what is queued, then stops the transport's thread. */
    override fun close() {
        flush()
        executor.shutdown()
    }

    private fun drain() {
        while (true) {
            val batch = synchronized(lock) {
                timer?.cancel(false)
                timer = null
                List(minOf(queue.size, config.batchSize)) { queue.removeFirst() }
            }
            if (batch.isEmpty()) return
            send(batch)
        }
    }

    private fun send(batch: List<Queued>) {
        var last = ""
        var lastStatus: Int? = null
        for (attempt in 1..config.maxAttempts) {
            // Every attempt says when it was sent, so the collector can correct the client's clock.
            val sentAt = JsonWriter().value(DateTimeFormatter.ISO_INSTANT.format(Instant.now())).toString()
            val body = batch.joinToString(",", "[", "]") { it.json.dropLast(1) + ",\"sent_at\":$sentAt}" }
            val response = try {
                post(body)
            } catch (error: java.io.IOException) {
                last = "the collector could not be reached: $error"
                lastStatus = null
                Thread.sleep(backoff(attempt))
                continue
            }
            val answer = response.json()
            if (response.status == 202 || (response.status == 400 && answer?.get("errors") is List<*>)) {
                reportItems(response.status, answer, batch)
                return
            }
            val detail = (answer?.get("detail") as? String)?.let { ": $it" } ?: ""
            if (response.status == 429 || response.status >= 500) {
                last = "the collector answered ${response.status}$detail"
                lastStatus = response.status
                Thread.sleep(retryAfter(response.retryAfter) ?: backoff(attempt))
                continue
            }
            report(TrackingError.Kind.REFUSED, "the collector refused the request: ${response.status}$detail", response.status, batch)
            return
        }
        report(TrackingError.Kind.GAVE_UP, "$last; gave up after ${config.maxAttempts} attempts", lastStatus, batch)
    }

    private class Response(val status: Int, val body: String, val retryAfter: String?) {
        fun json(): Map<*, *>? = try {
            JsonReader(body).read() as? Map<*, *>
        } catch (error: IllegalArgumentException) {
            null
        }
    }

    private fun post(body: String): Response {
        val connection = URI(config.endpoint).toURL().openConnection() as HttpURLConnection
        try {
            connection.requestMethod = "POST"
            connection.doOutput = true
            connection.connectTimeout = config.connectTimeout.toMillis().toInt()
            connection.readTimeout = config.readTimeout.toMillis().toInt()
            connection.setRequestProperty("Content-Type", "application/json")
            connection.setRequestProperty("Authorization", "Api-Key ${config.apiKey}")
            connection.outputStream.use { it.write(body.toByteArray(UTF_8)) }
            val status = connection.responseCode
            val stream = if (status < 400) connection.inputStream else connection.errorStream
            val text = stream?.use { String(it.readBytes(), UTF_8) } ?: ""
            return Response(status, text, connection.getHeaderField("Retry-After"))
        } catch (error: java.io.IOException) {
            connection.disconnect()
            throw error
        }
    }

    private fun reportItems(status: Int, answer: Map<*, *>?, batch: List<Queued>) {
        val errors = (answer?.get("errors") as? List<*>).orEmpty().filterIsInstance<Map<*, *>>().map { item ->
            val index = (item["index"] as? Number)?.toInt() ?: -1
            EventError(
                eventId = batch.getOrNull(index)?.id ?: "",
                code = item["code"] as? String ?: "",
                field = item["field"] as? String,
                message = item["message"] as? String ?: "",
            )
        }
        if (errors.isNotEmpty()) {
            val message = "the collector refused ${errors.size} event(s): ${errors.first().message}"
            emit(TrackingError(TrackingError.Kind.REJECTED, message, status, errors.map { it.eventId }, errors))
        }
    }

    private fun report(kind: TrackingError.Kind, message: String, status: Int?, batch: List<Queued>) {
        emit(TrackingError(kind, message, status, batch.map { it.id }))
    }

    private fun emit(error: TrackingError) {
        try {
            config.onError(error)
        } catch (thrown: RuntimeException) {
            // A failing callback must not stop the transport.
            System.err.println("analytics: onError threw $thrown")
        }
    }

    private fun backoff(attempt: Int): Long {
        val delay = config.retryDelay.toMillis() * (1L shl minOf(attempt - 1, 30))
        val jittered = (delay * ThreadLocalRandom.current().nextDouble(0.5, 1.0)).toLong()
        return minOf(jittered, config.maxRetryDelay.toMillis())
    }

    private fun retryAfter(header: String?): Long? {
        if (header == null) return null
        val millis = header.trim().toLongOrNull()?.times(1000)
            ?: try {
                ZonedDateTime.parse(header.trim(), DateTimeFormatter.RFC_1123_DATE_TIME).toInstant().toEpochMilli() -
                    System.currentTimeMillis()
            } catch (error: java.time.format.DateTimeParseException) {
                return null
            }
        return millis.coerceIn(0, config.maxRetryDelay.toMillis())
    }
}

/** Reads the collector's JSON answers: objects, arrays, strings, numbers, booleans, null. */
private class JsonReader(private val text: String) {
    private var at = 0

    fun read(): Any? = value().also {
        space()
        require(at == text.length) { "unexpected text after the JSON value" }
    }

    private fun value(): Any? {
        space()
        require(at < text.length) { "unexpected end of JSON" }
        return when (text[at]) {
            '{' -> objectValue()
            '[' -> arrayValue()
            '"' -> stringValue()
            't' -> literal("true", true)
            'f' -> literal("false", false)
            'n' -> literal("null", null)
            else -> numberValue()
        }
    }

    private fun objectValue(): Map<String, Any?> {
        val result = LinkedHashMap<String, Any?>()
        at++
        space()
        if (peek() == '}') return result.also { at++ }
        while (true) {
            space()
            val key = stringValue()
            space()
            expect(':')
            result[key] = value()
            space()
            if (peek() == ',') at++ else return result.also { expect('}') }
        }
    }

    private fun arrayValue(): List<Any?> {
        val result = ArrayList<Any?>()
        at++
        space()
        if (peek() == ']') return result.also { at++ }
        while (true) {
            result.add(value())
            space()
            if (peek() == ',') at++ else return result.also { expect(']') }
        }
    }

    private fun stringValue(): String {
        expect('"')
        val result = StringBuilder()
        while (true) {
            require(at < text.length) { "unterminated string" }
            when (val char = text[at++]) {
                '"' -> return result.toString()
                '\\' -> {
                    require(at < text.length) { "unterminated string" }
                    when (val escaped = text[at++]) {
                        'u' -> {
                            require(at + 4 <= text.length) { "bad \\u escape" }
                            result.append(text.substring(at, at + 4).toInt(16).toChar())
                            at += 4
                        }
                        'n' -> result.append('\n')
                        't' -> result.append('\t')
                        'r' -> result.append('\r')
                        'b' -> result.append('\b')
                        'f' -> result.append('\u000c')
                        else -> result.append(escaped)
                    }
                }
                else -> result.append(char)
            }
        }
    }

    private fun numberValue(): Double {
        val start = at
        while (at < text.length && text[at] in "+-0123456789.eE") at++
        return requireNotNull(text.substring(start, at).toDoubleOrNull()) { "bad number at $start" }
    }

    private fun literal(word: String, result: Any?): Any? {
        require(text.startsWith(word, at)) { "bad literal at $at" }
        at += word.length
        return result
    }

    private fun peek(): Char? = text.getOrNull(at)

    private fun expect(char: Char) {
        require(peek() == char) { "expected '$char' at $at" }
        at++
    }

    private fun space() {
        while (at < text.length && text[at].isWhitespace()) at++
    }
}

/** Builds each event's envelope and hands it to the transport; the generated `Tracker` adds a
 * typed `track...` function per event. */
open class TrackerBase(private val config: TrackerConfig) : AutoCloseable {
    val transport = Transport(config)

    @Volatile var clientId: String? = config.clientId

    @Volatile var userId: String? = config.userId

    @Volatile var anonymousId: String? = config.anonymousId

    @Volatile var context: Map<String, Any?>? = config.context

    /** Queues one event and returns its id. Throws [IllegalArgumentException] for a value the
     * contract cannot hold (a decimal with too many digits, a `fixed` of the wrong size). */
    protected fun track(event: String, contractVersion: Int, properties: JsonValue, options: TrackOptions): UUID {
        val eventId = options.eventId ?: UUID.randomUUID()
        val json = JsonWriter().beginObject()
        json.name("event").value(event)
        json.name("timestamp").timestamp(options.timestamp ?: Instant.now(), micros = true)
        json.name("platform").value(config.platform)
        json.name("app_version").value(config.appVersion)
        json.name("properties")
        properties.writeJson(json)
        json.name("event_id").uuid(eventId)
        json.name("contract_version").value(contractVersion)
        clientId?.let { json.name("client_id").value(it) }
        (options.userId ?: userId)?.let { json.name("user_id").value(it) }
        (options.anonymousId ?: anonymousId)?.let { json.name("anonymous_id").value(it) }
        (options.context ?: context)?.let { json.name("context").any(it) }
        transport.enqueue(eventId.toString(), json.endObject().toString())
        return eventId
    }

    /** Sends every queued event; returns once each is delivered or reported to `onError`. */
    fun flush() = transport.flush()

    /** Sends what is queued, then stops the transport's thread. */
    override fun close() = transport.close()
}
