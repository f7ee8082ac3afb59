import Testing

@testable import Core

/// `ObjectProgress`: what a spooling client and a reader put on the meter between them.
@Suite("ObjectProgress")
struct ObjectProgressTests {
    private func done(_ meter: ProgressMeter) -> Int64 {
        meter.reading(label: "t", elapsed: .seconds(1)).quantities[0].done
    }

    @Test("a reader counts only past what the client landed; a failed transfer and an abandoned attempt come off")
    func arithmetic() {
        let meter = ProgressMeter.restore()
        let attempt = ObjectProgress(meter: meter, quantity: 0)
        attempt.landed(40)
        attempt.transferFailed()
        #expect(done(meter) == 0)
        attempt.landed(70)
        attempt.landed(30)
        attempt.reached(60)
        #expect(done(meter) == 100)
        attempt.reached(130)
        #expect(done(meter) == 130 && attempt.count == 130)
        attempt.abandon()
        #expect(done(meter) == 0 && attempt.count == 0)

        let reader = ObjectProgress(meter: meter, quantity: 0)
        reader.reached(10)
        reader.reached(5)
        #expect(done(meter) == 10)
    }

    @Test("the client sees the attempt as the current task's, and nothing outside it")
    func taskLocal() async {
        let attempt = ObjectProgress(meter: ProgressMeter.restore(), quantity: 0)
        #expect(ObjectProgress.current == nil)
        let seen = ObjectProgress.$current.withValue(attempt) { ObjectProgress.current }
        #expect(seen === attempt)
    }
}
