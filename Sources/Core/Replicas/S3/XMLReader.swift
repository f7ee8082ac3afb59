/// A parsed XML element: enough of a tree for S3's small response documents.
///
/// `name` is the local name (any namespace prefix removed); `text` is all character data directly
/// inside the element, CDATA included, with entity references resolved.
package struct XMLNode: Sendable, Equatable {
    package var name: String
    package var text: String
    package var children: [XMLNode]

    package func child(_ name: String) -> XMLNode? { children.first { $0.name == name } }
    package func all(_ name: String) -> [XMLNode] { children.filter { $0.name == name } }
    package func value(_ name: String) -> String? { child(name)?.text }
}

/// A strict, non-validating reader for the XML S3 sends, in place of Foundation's `XMLParser`
/// (whose library costs megabytes of resident memory the replicator cannot spare).
///
/// It reads one UTF-8 document: an optional BOM and XML declaration (white space before it is
/// tolerated, see `processingInstruction`), comments and processing
/// instructions, one root element with attributes, nested elements, self-closing tags, text with
/// the five predefined and numeric character references, and CDATA sections. Anything else is
/// rejected rather than guessed at: document type declarations (so no entity expansion), unknown
/// entities, mismatched or unclosed tags, undeclared namespace prefixes, duplicate attributes,
/// characters XML forbids, invalid UTF-8 and content after the root.
enum XMLReader {
    /// Why a document was rejected, with the byte offset where reading stopped.
    struct Failure: Error, Equatable, CustomStringConvertible {
        var offset: Int
        var reason: String
        var description: String { "malformed XML at byte \(offset): \(reason)" }
    }

    /// S3 documents are four or five levels deep; a cap keeps a hostile answer from costing much.
    static let maximumDepth = 64

    static func parse(_ bytes: [UInt8]) throws(Failure) -> XMLNode {
        var cursor = Cursor(bytes: bytes)
        return try cursor.document()
    }
}

/// The reading position within one document; each method consumes what it reads.
private struct Cursor {
    let bytes: [UInt8]
    var index = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    /// One open element: its node so far, its qualified name (to match the end tag) and the
    /// namespace prefixes it declares.
    private struct Frame {
        var node: XMLNode
        var qualifiedName: [UInt8]
        var prefixes: [[UInt8]]
        var text: [UInt8] = []
    }

    mutating func document() throws(XMLReader.Failure) -> XMLNode {
        // Validated once here, so text, names and values can be decoded without checks later:
        // they are split only at ASCII bytes, and references add valid UTF-8.
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw failure("the document is not valid UTF-8")
        }
        if starts(with: [0xEF, 0xBB, 0xBF]) { index += 3 }
        try misc()
        guard index < bytes.count else { throw failure("no root element") }
        guard bytes[index] == UInt8(ascii: "<") else { throw failure("text before the root element") }
        let root = try element()
        try misc()
        guard index == bytes.count else { throw failure("content after the root element") }
        return root
    }

    // MARK: - Elements

    /// Reads the element starting at `<`, its content and its end tag, without recursion.
    private mutating func element() throws(XMLReader.Failure) -> XMLNode {
        var stack: [Frame] = []
        var root: XMLNode?
        // Each pass reads one start tag, then content until that element or an ancestor is open
        // and a child start tag is next.
        repeat {
            let (frame, selfClosing) = try startTag(scope: stack)
            guard stack.count < XMLReader.maximumDepth else { throw failure("elements nested too deeply") }
            stack.append(frame)
            if !selfClosing { try content(into: &stack[stack.count - 1]) }
            // Close every element whose end tag (or self-closing start tag) comes next.
            var closeNow = selfClosing
            while let last = stack.last {
                if !closeNow {
                    guard starts(with: Array("</".utf8)) else { break }
                    try endTag(matching: last.qualifiedName)
                }
                closeNow = false
                var finished = stack.removeLast()
                finished.node.text = String(decoding: normalizedLineEnds(finished.text), as: UTF8.self)
                if stack.isEmpty {
                    root = finished.node
                } else {
                    stack[stack.count - 1].node.children.append(finished.node)
                    try content(into: &stack[stack.count - 1])
                }
            }
        } while root == nil
        return root!
    }

    /// `<name attr="value" ...>` or `<name .../>`, from the `<`.
    private mutating func startTag(scope: [Frame]) throws(XMLReader.Failure) -> (Frame, selfClosing: Bool) {
        index += 1 // "<"
        let qualified = try name()
        var attributeNames: [[UInt8]] = []
        var declared: [[UInt8]] = []
        while true {
            let hadSpace = skipSpaces()
            guard index < bytes.count else { throw failure("unterminated start tag") }
            if bytes[index] == UInt8(ascii: ">") {
                index += 1
                return (try frame(qualified, declared, scope), false)
            }
            if starts(with: Array("/>".utf8)) {
                index += 2
                return (try frame(qualified, declared, scope), true)
            }
            guard hadSpace else { throw failure("attributes must be separated by white space") }
            let attribute = try name()
            guard !attributeNames.contains(attribute) else { throw failure("duplicate attribute") }
            attributeNames.append(attribute)
            skipSpaces()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "=") else {
                throw failure("attribute without a value")
            }
            index += 1
            skipSpaces()
            _ = try attributeValue()
            // Only declarations are kept: values of other attributes mean nothing to S3's documents.
            let xmlns = Array("xmlns:".utf8)
            if attribute.starts(with: xmlns) { declared.append(Array(attribute.dropFirst(xmlns.count))) }
        }
    }

    /// A frame for an element named `qualified`, whose prefix (if any) must be declared by the
    /// element itself or an ancestor.
    private func frame(_ qualified: [UInt8], _ declared: [[UInt8]], _ scope: [Frame]) throws(XMLReader.Failure) -> Frame
    {
        var local = qualified
        if let colon = qualified.firstIndex(of: UInt8(ascii: ":")) {
            let prefix = Array(qualified[..<colon])
            local = Array(qualified[(colon + 1)...])
            guard !prefix.isEmpty, !local.isEmpty, !local.contains(UInt8(ascii: ":")) else {
                throw failure("malformed qualified name")
            }
            let known =
                prefix == Array("xml".utf8) || declared.contains(prefix)
                || scope.contains { $0.prefixes.contains(prefix) }
            guard known else { throw failure("undeclared namespace prefix") }
        }
        return Frame(
            node: XMLNode(name: String(decoding: local, as: UTF8.self), text: "", children: []),
            qualifiedName: qualified, prefixes: declared)
    }

    /// `</name>`, which must match the open element's qualified name.
    private mutating func endTag(matching qualified: [UInt8]) throws(XMLReader.Failure) {
        let start = index
        index += 2 // "</"
        let closing = try name()
        guard closing == qualified else {
            index = start
            throw failure("end tag does not match its start tag")
        }
        skipSpaces()
        guard index < bytes.count, bytes[index] == UInt8(ascii: ">") else { throw failure("unterminated end tag") }
        index += 1
    }

    /// Character data, references, CDATA, comments and processing instructions, up to the next
    /// start or end tag (which is left unread).
    private mutating func content(into frame: inout Frame) throws(XMLReader.Failure) {
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "<") {
                if starts(with: Array("<!--".utf8)) {
                    try comment()
                } else if starts(with: Array("<![CDATA[".utf8)) {
                    index += 9
                    guard let end = find(Array("]]>".utf8)) else { throw failure("unterminated CDATA section") }
                    let data = bytes[index..<end]
                    try checkCharacters(data)
                    frame.text += data
                    index = end + 3
                } else if starts(with: Array("<?".utf8)) {
                    try processingInstruction()
                } else if starts(with: Array("<!".utf8)) {
                    throw failure("document type declarations are not accepted")
                } else {
                    return
                }
            } else if byte == UInt8(ascii: "&") {
                frame.text += try reference()
            } else {
                if byte == UInt8(ascii: ">"), index >= 2, bytes[index - 1] == UInt8(ascii: "]"),
                    bytes[index - 2] == UInt8(ascii: "]")
                {
                    throw failure("\"]]>\" in text")
                }
                try checkCharacter(byte)
                frame.text.append(byte)
                index += 1
            }
        }
        throw failure("unclosed element <\(String(decoding: frame.qualifiedName, as: UTF8.self))>")
    }

    // MARK: - Pieces

    /// An element or attribute name: a letter, `_`, `:` or non-ASCII byte first, then those,
    /// digits, `-` and `.`.
    private mutating func name() throws(XMLReader.Failure) -> [UInt8] {
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            let isStart =
                (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":") || byte >= 0x80
            let isLater = (byte >= 0x30 && byte <= 0x39) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
            guard isStart || (index > start && isLater) else { break }
            index += 1
        }
        guard index > start else { throw failure("expected a name") }
        return Array(bytes[start..<index])
    }

    /// A quoted attribute value with references resolved.
    private mutating func attributeValue() throws(XMLReader.Failure) -> [UInt8] {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "'") else {
            throw failure("attribute value must be quoted")
        }
        let quote = bytes[index]
        index += 1
        var value: [UInt8] = []
        while index < bytes.count, bytes[index] != quote {
            switch bytes[index] {
            case UInt8(ascii: "<"): throw failure("\"<\" in an attribute value")
            case UInt8(ascii: "&"): value += try reference()
            case let byte:
                try checkCharacter(byte)
                value.append(byte)
                index += 1
            }
        }
        guard index < bytes.count else { throw failure("unterminated attribute value") }
        index += 1
        return value
    }

    /// `&name;` or `&#digits;` / `&#xhex;`, from the `&`, as UTF-8.
    private mutating func reference() throws(XMLReader.Failure) -> [UInt8] {
        let start = index
        guard let semicolon = bytes[index...].prefix(12).firstIndex(of: UInt8(ascii: ";")) else {
            throw failure("unterminated entity reference")
        }
        let body = Array(bytes[(start + 1)..<semicolon])
        index = semicolon + 1
        switch String(decoding: body, as: UTF8.self) {
        case "amp": return [UInt8(ascii: "&")]
        case "lt": return [UInt8(ascii: "<")]
        case "gt": return [UInt8(ascii: ">")]
        case "quot": return [UInt8(ascii: "\"")]
        case "apos": return [UInt8(ascii: "'")]
        default: break
        }
        guard body.first == UInt8(ascii: "#") else {
            index = start
            throw failure("unknown entity reference")
        }
        let hex = body.count > 1 && body[1] == UInt8(ascii: "x")
        let digits = body.dropFirst(hex ? 2 : 1)
        guard !digits.isEmpty, digits.count <= 8, digits.allSatisfy({ Self.isDigit($0, hex: hex) }),
            let value = UInt32(String(decoding: digits, as: UTF8.self), radix: hex ? 16 : 10),
            Self.isXMLCharacter(value), let scalar = Unicode.Scalar(value)
        else {
            index = start
            throw failure("invalid character reference")
        }
        return Array(String(Character(scalar)).utf8)
    }

    private static func isDigit(_ byte: UInt8, hex: Bool) -> Bool {
        let lower: UInt8 = byte | 0x20
        let decimal = byte >= 0x30 && byte <= 0x39
        return hex ? decimal || (lower >= 0x61 && lower <= 0x66) : decimal
    }

    /// `<!-- ... -->`, which may not contain `--`.
    private mutating func comment() throws(XMLReader.Failure) {
        index += 4
        guard let end = find(Array("--".utf8)) else { throw failure("unterminated comment") }
        guard end + 2 < bytes.count, bytes[end + 2] == UInt8(ascii: ">") else {
            throw failure("\"--\" inside a comment")
        }
        try checkCharacters(bytes[index..<end])
        index = end + 3
    }

    /// `<?target ... ?>`, the XML declaration included; its content is not interpreted.
    private mutating func processingInstruction() throws(XMLReader.Failure) {
        let start = index
        index += 2
        let target = try name()
        if target.map({ $0 | 0x20 }) == Array("xml".utf8) {
            // The name is reserved for the declaration, which must start the document. White
            // space before it is let through: S3 sends spaces to keep a slow
            // CompleteMultipartUpload answer alive, then the document, declaration and all.
            let bom = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
            guard start >= bom, bytes[bom..<start].allSatisfy(isSpace) else {
                index = start
                throw failure("XML declaration not at the start of the document")
            }
        }
        guard let end = find(Array("?>".utf8)) else { throw failure("unterminated processing instruction") }
        try checkCharacters(bytes[index..<end])
        index = end + 2
    }

    /// White space, comments and processing instructions outside the root element.
    private mutating func misc() throws(XMLReader.Failure) {
        while true {
            skipSpaces()
            if starts(with: Array("<!--".utf8)) {
                try comment()
            } else if starts(with: Array("<?".utf8)) {
                try processingInstruction()
            } else if starts(with: Array("<!".utf8)) {
                throw failure("document type declarations are not accepted")
            } else {
                return
            }
        }
    }

    // MARK: - Characters

    /// XML's `Char` production: tab, newline, carriage return and the rest of Unicode except
    /// the other C0 controls, surrogates, U+FFFE and U+FFFF.
    static func isXMLCharacter(_ value: UInt32) -> Bool {
        switch value {
        case 0x9, 0xA, 0xD, 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: return true
        default: return false
        }
    }

    /// Rejects the C0 control bytes XML forbids; multi-byte sequences are checked as UTF-8 when
    /// the text is converted.
    private func checkCharacter(_ byte: UInt8) throws(XMLReader.Failure) {
        guard byte >= 0x20 || byte == 0x9 || byte == 0xA || byte == 0xD else {
            throw failure("control character 0x\(String(byte, radix: 16)) in the document")
        }
    }

    private func checkCharacters(_ slice: ArraySlice<UInt8>) throws(XMLReader.Failure) {
        for byte in slice { try checkCharacter(byte) }
    }

    /// XML turns CR LF and lone CR into LF before anything else sees the text.
    private func normalizedLineEnds(_ text: [UInt8]) -> [UInt8] {
        guard text.contains(0x0D) else { return text }
        var out: [UInt8] = []
        out.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            if text[i] == 0x0D {
                out.append(0x0A)
                if i + 1 < text.count, text[i + 1] == 0x0A { i += 1 }
            } else {
                out.append(text[i])
            }
            i += 1
        }
        return out
    }

    // MARK: - Scanning

    private func starts(with prefix: [UInt8]) -> Bool {
        index + prefix.count <= bytes.count && bytes[index..<(index + prefix.count)].elementsEqual(prefix)
    }

    /// The index of the next occurrence of `needle` at or after the cursor.
    private func find(_ needle: [UInt8]) -> Int? {
        guard needle.count <= bytes.count else { return nil }
        var i = index
        while i + needle.count <= bytes.count {
            if bytes[i] == needle[0], bytes[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    private func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }

    @discardableResult
    private mutating func skipSpaces() -> Bool {
        let start = index
        while index < bytes.count, isSpace(bytes[index]) { index += 1 }
        return index > start
    }

    private func failure(_ reason: String) -> XMLReader.Failure { XMLReader.Failure(offset: index, reason: reason) }
}
