/// Renders a `ProgressReading` as one line, pure so that every shape is tested:
///
///     restore: 12.3 MiB of 45.6 MiB downloaded (27%), 8.1 MiB applied; 3.2 MiB/s, about 11 s left
///     verify: 120 of 300 objects checked (40%), 12.0 MiB checked; 6.0 objects/s, about 30 s left
///
/// The rate and time left come from the first quantity; no rate is shown before the first
/// half second, nor a time left without a total.
public enum ProgressLine {
    public static func render(_ reading: ProgressReading) -> String {
        var parts: [String] = []
        for quantity in reading.quantities {
            var part = amount(quantity.done, quantity.unit)
            if let total = quantity.total {
                part = "\(part) of \(amount(total, quantity.unit))"
            }
            part += quantity.unit == .bytes ? " \(quantity.verb)" : " \(noun(quantity.unit)) \(quantity.verb)"
            if let total = quantity.total, total > 0 {
                part += " (\(min(100, quantity.done * 100 / total))%)"
            }
            parts.append(part)
        }
        var line = "\(reading.label): " + parts.joined(separator: ", ")
        if let first = reading.quantities.first, let rate = rate(first.done, reading.elapsed) {
            line += "; \(rateText(rate, first.unit))"
            if let total = first.total, rate > 0 {
                let left = Double(max(0, total - first.done)) / rate
                line += ", about \(duration(left)) left"
            }
        }
        return line
    }

    /// Units per second, or nil before half a second has passed.
    static func rate(_ done: Int64, _ elapsed: Duration) -> Double? {
        let seconds = Double(elapsed.milliseconds) / 1000
        guard seconds >= 0.5 else { return nil }
        return Double(done) / seconds
    }

    static func rateText(_ rate: Double, _ unit: ProgressQuantity.Unit) -> String {
        switch unit {
        case .bytes: return "\(bytes(rate))/s"
        case .count(let noun): return "\(oneDecimal(rate)) \(noun)/s"
        }
    }

    static func amount(_ value: Int64, _ unit: ProgressQuantity.Unit) -> String {
        unit == .bytes ? bytes(Double(value)) : "\(value)"
    }

    static func noun(_ unit: ProgressQuantity.Unit) -> String {
        if case .count(let noun) = unit { return noun }
        return ""
    }

    /// Binary units with one decimal past KiB: "512 B", "1.5 KiB", "12.3 MiB".
    static func bytes(_ value: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var scaled = value
        var unit = 0
        while scaled >= 1024 && unit < units.count - 1 {
            scaled /= 1024
            unit += 1
        }
        return unit == 0 ? "\(Int(scaled)) B" : "\(oneDecimal(scaled)) \(units[unit])"
    }

    /// "45 s", "3 min 5 s", "2 h 10 min".
    static func duration(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded(.up))
        if whole < 60 { return "\(whole) s" }
        if whole < 3600 { return "\(whole / 60) min \(whole % 60) s" }
        return "\(whole / 3600) h \(whole % 3600 / 60) min"
    }

    static func oneDecimal(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}
