/// `%XX` decoding of URL text, shared by replica URLs, S3 listings (`encoding-type=url`) and the
/// simulated S3 endpoint, so all three read an escape the same way.
public enum PercentDecoding {
    /// Decodes `%XX` escapes (and, with `plusIsSpace`, `+` as a space, as form encoding does);
    /// nil for a malformed escape or bytes that are not UTF-8.
    public static func decode(_ text: String, plusIsSpace: Bool = false) -> String? {
        var out: [UInt8] = []
        var bytes = text.utf8.makeIterator()
        while let byte = bytes.next() {
            switch byte {
            case UInt8(ascii: "+") where plusIsSpace: out.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let high = bytes.next().flatMap(hexValue), let low = bytes.next().flatMap(hexValue) else {
                    return nil
                }
                out.append(high << 4 | low)
            default: out.append(byte)
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }
}
