// Sends the events of tests/codegen_contracts.EXPECTED through the generated Kotlin tracker:
// java -cp ... ClientKt ENDPOINT API_KEY. Prints {"ids": [...], "errors": [...]} as JSON.
import analytics.tracking.AppOpened
import analytics.tracking.AppOpenedV1
import analytics.tracking.AppOpenedV2
import analytics.tracking.CheckoutCompleted
import analytics.tracking.CheckoutCompletedV1
import analytics.tracking.CheckoutCompletedV2
import analytics.tracking.JsonWriter
import analytics.tracking.TrackOptions
import analytics.tracking.Tracker
import analytics.tracking.TrackerConfig
import analytics.tracking.TrackingError
import java.math.BigDecimal
import java.time.Duration
import java.time.Instant
import java.time.LocalDate
import java.time.LocalDateTime
import java.time.LocalTime
import java.util.UUID

fun main(args: Array<String>) {
    val errors = java.util.Collections.synchronizedList(mutableListOf<TrackingError>())
    val config = TrackerConfig(
        endpoint = args[0],
        apiKey = args[1],
        platform = "android",
        appVersion = "1.0.0",
        clientId = "device-kt",
        anonymousId = "anon-kt",
        flushInterval = Duration.ofMinutes(1),
        maxAttempts = 4,
        retryDelay = Duration.ofMillis(100),
        onError = { errors.add(it) },
    )
    val ids = Tracker(config).use { tracker ->
        val ids = listOf(
            tracker.trackCheckoutCompleted(
                CheckoutCompleted(
                    orderId = "A-1",
                    total = 42.5,
                    items = listOf(CheckoutCompletedV2.Item("x", 2), CheckoutCompletedV2.Item("y\"é\n", 1)),
                    coupon = "WELCOME",
                    paidAt = Instant.parse("2026-11-25T10:00:00.123Z"),
                    currency = CheckoutCompletedV2.Currency.USD,
                    amount = BigDecimal("1234.50"),
                    tags = mapOf("b" to "2", "a" to "1"),
                    deliveredOn = LocalDate.of(2026, 11, 27),
                    sessionId = UUID.fromString("0b7d6f3e-2c4a-4f0e-9d55-3f1c2a9b8e71"),
                    attachment = byteArrayOf(0, 1, 2, -1),
                    measuredAt = Instant.parse("2026-11-25T10:00:00.5Z"),
                    shipping = CheckoutCompletedV2.Address(street = "1 Main St", city = "Paris"),
                    gift = CheckoutCompletedV2.GiftUnion.OfGiftCard(
                        CheckoutCompletedV2.GiftCard(code = "G-1", value = BigDecimal("25.00")),
                    ),
                    digest = CheckoutCompletedV2.Digest(byteArrayOf(1, 2, 3, 4)),
                    pickupTime = LocalTime.of(10, 30),
                    localPickup = LocalDateTime.of(2026, 11, 27, 10, 30),
                    priority = 3,
                    rating = 4.5f,
                    express = true,
                    metrics = mapOf("clicks" to listOf(1L, 2L, 3L)),
                ),
            ),
            tracker.trackCheckoutCompleted(
                CheckoutCompleted(
                    orderId = "A-2",
                    total = 0.0,
                    items = emptyList(),
                    paidAt = Instant.parse("2026-11-25T11:00:00Z"),
                    amount = BigDecimal("0.05"),
                    sessionId = UUID.fromString("9f3c2a1b-0000-4000-8000-000000000002"),
                    shipping = CheckoutCompletedV2.Address(street = "2 Side St", city = "Lyon", zip = "69001"),
                    gift = CheckoutCompletedV2.GiftUnion.OfLong(7),
                ),
            ),
            tracker.trackCheckoutCompletedV1(
                CheckoutCompletedV1(orderId = "A-3", total = 9.99, items = listOf(CheckoutCompletedV1.Item("z", 3))),
            ),
            tracker.trackAppOpened(
                AppOpened(coldStart = true, source = AppOpenedV2.Source.LINK),
                TrackOptions(
                    userId = "user-1",
                    context = mapOf("locale" to "fr-FR", "screen" to mapOf("width" to 390, "height" to 844)),
                ),
            ),
        )
        tracker.flush()
        ids
    }
    val json = JsonWriter().beginObject()
    json.name("ids").array(ids) { value(it.toString()) }
    json.name("errors").array(errors.toList()) { error ->
        beginObject()
        name("kind").value(error.kind.name.lowercase())
        name("message").value(error.message ?: "")
        error.status?.let { name("status").value(it) }
        name("eventIds").array(error.eventIds) { value(it) }
        endObject()
    }
    println(json.endObject())
}

// Version 1 of app_opened is deprecated: compiling this must draw the compiler's warning.
fun sendLegacy(tracker: Tracker) = tracker.trackAppOpenedV1(AppOpenedV1(coldStart = true))
