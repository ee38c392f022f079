// Wrong uses of the generated Kotlin tracker: lines 5 and 6 must fail to compile.
import analytics.tracking.*

fun misuse(tracker: Tracker) {
    tracker.trackAppOpened(AppOpenedV2(coldStart = true, sorce = AppOpenedV2.Source.LINK))
    tracker.trackAppOpened(AppOpenedV2(coldStart = "yes"))
}
