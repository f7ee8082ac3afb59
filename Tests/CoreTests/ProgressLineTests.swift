import Testing

@testable import Core

@Suite("ProgressLine and ProgressMeter")
struct ProgressLineTests {
    func reading(_ quantities: [ProgressQuantity], seconds: Int64) -> ProgressReading {
        ProgressReading(label: "restore", quantities: quantities, elapsed: .seconds(seconds))
    }

    @Test("a restore: bytes of the total, percentage, applied bytes, rate and time left")
    func restoreLine() {
        let line = ProgressLine.render(
            reading(
                [
                    ProgressQuantity(verb: "downloaded", unit: .bytes, total: 40 << 20, done: 10 << 20),
                    ProgressQuantity(verb: "applied", unit: .bytes, done: 8 << 20),
                ], seconds: 5))
        #expect(line == "restore: 10.0 MiB of 40.0 MiB downloaded (25%), 8.0 MiB applied; 2.0 MiB/s, about 15 s left")
    }

    @Test("a verify: objects and bytes checked")
    func verifyLine() {
        let line = ProgressLine.render(
            ProgressReading(
                label: "verify",
                quantities: [
                    ProgressQuantity(verb: "checked", unit: .count("objects"), total: 300, done: 120),
                    ProgressQuantity(verb: "checked", unit: .bytes, done: 1536),
                ], elapsed: .seconds(20)))
        #expect(line == "verify: 120 of 300 objects checked (40%), 1.5 KiB checked; 6.0 objects/s, about 30 s left")
    }

    @Test("no rate in the first half second; no time left without a total or a rate; long times in minutes and hours")
    func edges() {
        #expect(
            ProgressLine.render(
                ProgressReading(
                    label: "restore",
                    quantities: [
                        ProgressQuantity(verb: "downloaded", unit: .bytes, total: 1000, done: 10)
                    ], elapsed: .milliseconds(300))) == "restore: 10 B of 1000 B downloaded (1%)")
        let open = ProgressQuantity(verb: "downloaded", unit: .bytes, done: 2048)
        #expect(
            ProgressLine.render(reading([open], seconds: 2))
                == "restore: 2.0 KiB downloaded; 1.0 KiB/s")
        let idle = ProgressQuantity(verb: "downloaded", unit: .bytes, total: 100, done: 0)
        #expect(
            ProgressLine.render(reading([idle], seconds: 2))
                == "restore: 0 B of 100 B downloaded (0%); 0 B/s")
        #expect(ProgressLine.duration(185) == "3 min 5 s")
        #expect(ProgressLine.duration(7800) == "2 h 10 min")
        #expect(ProgressLine.bytes(3 * 1_073_741_824) == "3.0 GiB")
    }

    @Test("a meter's counts and total come back in its reading")
    func meter() {
        let meter = ProgressMeter.restore()
        meter.add(100, to: ProgressMeter.downloaded)
        meter.add(50, to: ProgressMeter.downloaded)
        meter.add(4096, to: ProgressMeter.applied)
        var reading = meter.reading(label: "restore", elapsed: .seconds(1))
        #expect(reading.quantities.map(\.done) == [150, 4096])
        #expect(reading.quantities[0].total == nil)
        meter.setTotal(1000)
        reading = meter.reading(label: "restore", elapsed: .seconds(1))
        #expect(reading.quantities[0].total == 1000)
    }
}
