import Core
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// A parsed XML element: enough of a tree for S3's small response documents.
struct XMLNode: Sendable, Equatable {
    var name: String
    var text: String
    var children: [XMLNode]

    func child(_ name: String) -> XMLNode? { children.first { $0.name == name } }
    func all(_ name: String) -> [XMLNode] { children.filter { $0.name == name } }
    func value(_ name: String) -> String? { child(name)?.text }
}

/// S3's XML documents: listings, errors, delete results and multipart answers.
enum S3XML {
    /// The root element, or nil if the bytes are not well-formed XML.
    static func parse(_ bytes: [UInt8]) -> XMLNode? {
        guard !bytes.isEmpty else { return nil }
        let builder = TreeBuilder()
        let parser = XMLParser(data: Data(bytes))
        parser.delegate = builder
        guard parser.parse() else { return nil }
        return builder.root
    }

    /// An `<Error>` document's code, message and request id.
    struct ErrorBody: Equatable {
        var code: String
        var message: String
        var requestID: String?
    }

    static func error(_ bytes: [UInt8]) -> ErrorBody? {
        guard let root = parse(bytes), root.name == "Error" else { return nil }
        return ErrorBody(code: root.value("Code") ?? "", message: root.value("Message") ?? "",
                         requestID: root.value("RequestId"))
    }

    /// One page of a ListObjectsV2 answer.
    struct ListPage: Equatable {
        struct Object: Equatable {
            var key: String
            var size: Int64
            var lastModified: Timestamp
        }
        var objects: [Object]
        var commonPrefixes: [String]
        var nextContinuationToken: String?
        var isTruncated: Bool
    }

    static func listPage(_ bytes: [UInt8]) -> ListPage? {
        guard let root = parse(bytes), root.name == "ListBucketResult" else { return nil }
        // Keys come back URL-encoded only when the answer says so (some services ignore the ask).
        let urlEncoded = root.value("EncodingType") == "url"
        func decode(_ text: String) -> String {
            urlEncoded ? (text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? text) : text
        }
        var objects: [ListPage.Object] = []
        for node in root.all("Contents") {
            guard let key = node.value("Key") else { return nil }
            objects.append(ListPage.Object(
                key: decode(key), size: Int64(node.value("Size") ?? "") ?? 0,
                lastModified: RFC3339.parse(node.value("LastModified") ?? "") ?? Timestamp(millisecondsSince1970: 0)))
        }
        let prefixes = root.all("CommonPrefixes").compactMap { $0.value("Prefix").map(decode) }
        return ListPage(objects: objects, commonPrefixes: prefixes,
                        nextContinuationToken: root.value("NextContinuationToken"),
                        isTruncated: root.value("IsTruncated") == "true")
    }

    /// Keys a DeleteObjects answer reports as not deleted, with their codes.
    static func deleteErrors(_ bytes: [UInt8]) -> [(key: String, code: String, message: String)]? {
        guard let root = parse(bytes), root.name == "DeleteResult" else { return nil }
        return root.all("Error").map { ($0.value("Key") ?? "", $0.value("Code") ?? "", $0.value("Message") ?? "") }
    }

    static func uploadID(_ bytes: [UInt8]) -> String? {
        guard let root = parse(bytes), root.name == "InitiateMultipartUploadResult" else { return nil }
        return root.value("UploadId")
    }

    /// The DeleteObjects request body (quiet mode: only failures are reported).
    static func deleteRequest(keys: [String]) -> [UInt8] {
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>"
        for key in keys { xml += "<Object><Key>\(escape(key))</Key></Object>" }
        xml += "</Delete>"
        return Array(xml.utf8)
    }

    /// The CompleteMultipartUpload request body: parts in ascending order with their ETags.
    static func completeRequest(etags: [String]) -> [UInt8] {
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for (index, etag) in etags.enumerated() {
            xml += "<Part><PartNumber>\(index + 1)</PartNumber><ETag>\(escape(etag))</ETag></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        return Array(xml.utf8)
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }
}

/// Builds an `XMLNode` tree from parser events; element names lose any namespace prefix.
private final class TreeBuilder: NSObject, XMLParserDelegate {
    private var stack: [XMLNode] = []
    var root: XMLNode?

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
        let local = elementName.split(separator: ":").last.map(String.init) ?? elementName
        stack.append(XMLNode(name: local, text: "", children: []))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard !stack.isEmpty else { return }
        stack[stack.count - 1].text += string
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        guard let node = stack.popLast() else { return }
        if stack.isEmpty {
            root = node
        } else {
            stack[stack.count - 1].children.append(node)
        }
    }
}
