import Testing

@testable import Core
@testable import IO

/// The hand-written XML reader that replaced Foundation's `XMLParser` for S3 answers.
@Suite struct S3XMLReaderTests {
    private func parse(_ text: String) throws -> XMLNode { try XMLReader.parse(Array(text.utf8)) }

    private func rejects(_ text: String, _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(throws: XMLReader.Failure.self, comment, sourceLocation: sourceLocation) {
            try XMLReader.parse(Array(text.utf8))
        }
    }

    @Test func readsNestedElementsTextAndWhitespace() throws {
        let root = try parse(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<A>\n  <B> x y </B>\n  <C><D>1</D><D>2</D></C>\n</A>\n")
        #expect(root.name == "A")
        #expect(root.children.map(\.name) == ["B", "C"])
        #expect(root.value("B") == " x y ")
        #expect(root.child("C")?.all("D").map(\.text) == ["1", "2"])
        #expect(root.value("Missing") == nil)
    }

    @Test func resolvesReferencesInText() throws {
        let root = try parse("<K a=\"&quot;q&apos;\">&amp;&lt;&gt;&quot;&apos;|&#65;&#x42;&#x6a;|&#233;&#x1F600;</K>")
        #expect(root.text == "&<>\"'|ABj|é😀")
    }

    @Test func rejectsBadReferences() {
        rejects("<K>&nbsp;</K>", "entities beyond XML's five are not defined without a DTD")
        rejects("<K>a & b</K>", "a bare ampersand")
        rejects("<K>&amp</K>", "an unterminated reference")
        rejects("<K>&#0;</K>", "NUL is not an XML character")
        rejects("<K>&#xD800;</K>", "a surrogate is not a character")
        rejects("<K>&#x110000;</K>", "beyond Unicode")
        rejects("<K>&#x;</K>")
        rejects("<K>&#+65;</K>", "a sign is not a digit")
        rejects("<K>&#X41;</K>", "the hex marker is a lower-case x")
        rejects("<K>&#12a;</K>")
    }

    @Test func stripsNamespacePrefixesAndAcceptsDeclarations() throws {
        let root = try parse(
            """
            <s3:ListBucketResult xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/" xmlns='urn:x'>\
            <s3:Name>b</s3:Name><Plain xmlns:o="urn:o"><o:Inner>i</o:Inner></Plain></s3:ListBucketResult>
            """)
        #expect(root.name == "ListBucketResult")
        #expect(root.value("Name") == "b")
        #expect(root.child("Plain")?.value("Inner") == "i")
        // The default namespace on S3's root changes nothing about names.
        #expect(
            try parse("<Error xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Code>c</Code></Error>").value("Code")
                == "c")
    }

    @Test func rejectsUndeclaredOrOutOfScopePrefixes() {
        rejects("<s3:Error><Code>c</Code></s3:Error>")
        rejects("<A><B xmlns:p=\"urn:p\"/><p:C/></A>", "a prefix declared on a sibling is out of scope")
        rejects("<p:A xmlns:p=\"urn:p\"></A>", "the end tag must repeat the prefix")
        rejects("<:A/>")
    }

    @Test func readsSelfClosingTags() throws {
        let root = try parse("<R><Empty/><WithAttr a=\"1\" b='2' /><Full>t</Full><Empty></Empty></R>")
        #expect(root.children.map(\.name) == ["Empty", "WithAttr", "Full", "Empty"])
        #expect(root.children.map(\.text) == ["", "", "t", ""])
        #expect(try parse("<Only/>") == XMLNode(name: "Only", text: "", children: []))
    }

    @Test func readsCDATACommentsInstructionsAndABOM() throws {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        let text =
            "<?xml version=\"1.0\"?><!-- before --><?pi data?><R><!-- c -->a<![CDATA[<b>&amp;]]>c<?x y?></R><!-- after -->\n"
        let root = try XMLReader.parse(bom + Array(text.utf8))
        #expect(root.text == "a<b>&amp;c")
    }

    @Test func normalisesLineEnds() throws {
        #expect(try parse("<R>a\r\nb\rc\n</R>").text == "a\nb\nc\n")
    }

    @Test func rejectsMalformedDocuments() {
        rejects("", "empty")
        rejects("   \n", "no root")
        rejects("not xml")
        rejects("<A><B></A></B>", "crossed tags")
        rejects("<A><B></B>", "unclosed root")
        rejects("<A>text", "unclosed root with text")
        rejects("<A></A><B></B>", "two roots")
        rejects("<A></A>trailing", "text after the root")
        rejects("x<A></A>", "text before the root")
        rejects("<A", "unterminated start tag")
        rejects("<A></A", "unterminated end tag")
        rejects("<A a=1></A>", "unquoted attribute")
        rejects("<A a=\"1\"b=\"2\"></A>", "attributes must be separated")
        rejects("<A a=\"1\" a=\"2\"></A>", "duplicate attribute")
        rejects("<A a></A>", "attribute without a value")
        rejects("<A a=\"<\"></A>", "< in an attribute value")
        rejects("<A>]]></A>", "]]> in text")
        rejects("<A><!-- a -- b --></A>", "-- in a comment")
        rejects("<A><!-- open</A>", "unterminated comment")
        rejects("<A><![CDATA[open</A>", "unterminated CDATA")
        rejects("<!DOCTYPE A [<!ENTITY e \"x\">]><A>&e;</A>", "no document type declarations")
        rejects("<A><!ENTITY e \"x\"></A>")
        rejects("<!-- c --><?xml version=\"1.0\"?><A/>", "the declaration must come first")
        rejects("<A/><?xml version=\"1.0\"?>", "the declaration must come first")
        rejects("<A>\u{01}</A>", "control character")
        rejects("<1A/>", "a name cannot start with a digit")
        rejects("< A/>", "no space before the name")
        rejects("<A/ >")
        rejects(String(repeating: "<A>", count: 100) + String(repeating: "</A>", count: 100), "nesting too deep")
        #expect(throws: XMLReader.Failure.self, "invalid UTF-8") {
            try XMLReader.parse(Array("<A>".utf8) + [0xC3, 0x28] + Array("</A>".utf8))
        }
    }

    @Test func failuresSayWhere() {
        #expect(throws: XMLReader.Failure(offset: 3, reason: "end tag does not match its start tag")) {
            try XMLReader.parse(Array("<A></B>".utf8))
        }
    }

    // MARK: - S3 documents through the reader

    @Test func listingsDecodeURLEncodedKeysAndRejectBrokenEscapes() throws {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
              <Name>b</Name><Prefix/><EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>
              <Contents><Key>d%C3%A9j%C3%A0+vu%2Bx%26y</Key><LastModified>2026-11-25T10:00:01.000Z</LastModified>
                <ETag>&quot;abc&quot;</ETag><Size>3</Size><StorageClass>STANDARD</StorageClass><Owner/></Contents>
              <CommonPrefixes><Prefix>a%2Fb/</Prefix></CommonPrefixes>
              <CommonPrefixes><Prefix>c/</Prefix></CommonPrefixes>
            </ListBucketResult>
            """
        let page = try #require(S3XML.listPage(Array(xml.utf8)))
        #expect(page.objects.map(\.key) == ["déjà vu+x&y"])
        #expect(page.objects.map(\.size) == [3])
        #expect(page.commonPrefixes == ["a/b/", "c/"])
        #expect(!page.isTruncated)
        #expect(page.nextContinuationToken == nil)

        let broken = xml.replacingAll("d%C3%A9j", with: "d%C3%Gj")
        #expect(S3XML.listPage(Array(broken.utf8)) == nil, "a broken escape is a malformed answer")
        let notUTF8 = xml.replacingAll("d%C3%A9j", with: "d%C3%28j")
        #expect(S3XML.listPage(Array(notUTF8.utf8)) == nil)
        // Without EncodingType the key is taken as it stands.
        let plain = xml.replacingAll("<EncodingType>url</EncodingType>", with: "")
        #expect(try #require(S3XML.listPage(Array(plain.utf8))).objects.map(\.key) == ["d%C3%A9j%C3%A0+vu%2Bx%26y"])
        #expect(S3XML.listPage(Array(xml.dropLast(20).utf8)) == nil, "a truncated body")
    }

    @Test func aLargeListingPageParses() throws {
        var xml = "<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>t</NextContinuationToken>"
        for i in 0..<1000 {
            xml +=
                "<Contents><Key>generations/0123456789abcdef/wal/\(i).wal.lz4</Key><LastModified>2026-11-25T10:00:01.000Z</LastModified><ETag>&quot;e\(i)&quot;</ETag><Size>\(i)</Size></Contents>"
        }
        xml += "</ListBucketResult>"
        let page = try #require(S3XML.listPage(Array(xml.utf8)))
        #expect(page.objects.count == 1000)
        #expect(page.objects.last?.key == "generations/0123456789abcdef/wal/999.wal.lz4")
        #expect(page.objects.map(\.size).reduce(0, +) == Int64(999 * 1000 / 2))
    }

    @Test func errorsCarryTheirOptionalFields() throws {
        let body = """
            <?xml version="1.0" encoding="UTF-8"?>
            <Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint.</Message>\
            <Endpoint>b.s3.eu-west-1.amazonaws.com</Endpoint><Bucket>b</Bucket><BucketName>b</BucketName>\
            <Region>eu-west-1</Region><Resource>/b/k</Resource><RequestId>R</RequestId><HostId>H</HostId></Error>
            """
        let error = try #require(S3XML.error(Array(body.utf8)))
        #expect(error.code == "PermanentRedirect")
        #expect(error.requestID == "R")
        #expect(error.endpoint == "b.s3.eu-west-1.amazonaws.com")
        #expect(error.region == "eu-west-1")
        #expect(error.bucketName == "b")
        #expect(error.resource == "/b/k")
        #expect(
            S3XML.error(Array("<Error><Code>c</Code>".utf8)) == nil, "a truncated error body is not an error document")
        #expect(S3XML.error([]) == nil)
    }

    @Test func completeMultipartAnswers() throws {
        let done = Array(
            """
            <?xml version="1.0" encoding="UTF-8"?>
            <CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Location>l</Location>\
            <Bucket>b</Bucket><Key>k</Key><ETag>&quot;3858f62230ac3c915f300c664312c11f-9&quot;</ETag></CompleteMultipartUploadResult>
            """.utf8)
        #expect(S3XML.completedETag(done) == "\"3858f62230ac3c915f300c664312c11f-9\"")
        #expect(S3XML.error(done) == nil)
        let moto = Array("<CompleteMultipartUploadResponse><ETag>e</ETag></CompleteMultipartUploadResponse>".utf8)
        #expect(S3XML.completedETag(moto) == "e")
        #expect(S3XML.completedETag(Array(done.dropLast(10))) == nil, "a body cut short")
        // S3 can answer 200, send spaces to keep the connection alive, then fail with an <Error>.
        let failed = Array(
            "\n  \n<?xml version=\"1.0\"?><Error><Code>InternalError</Code><Message>m</Message></Error>".utf8)
        #expect(S3XML.completedETag(failed) == nil)
        let withoutLeadingDeclaration = Array(
            "\n  \n<Error><Code>InternalError</Code><Message>m</Message></Error>".utf8)
        #expect(S3XML.error(withoutLeadingDeclaration)?.code == "InternalError")
    }

    @Test func deleteResultsAndUploadIDs() throws {
        let result = Array(
            """
            <DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
              <Deleted><Key>a</Key></Deleted>
              <Error><Key>k&lt;1&gt;</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>
              <Error><Key>k2</Key><Code>NoSuchKey</Code><Message/></Error>
            </DeleteResult>
            """.utf8)
        let errors = try #require(S3XML.deleteErrors(result))
        #expect(errors.map(\.key) == ["k<1>", "k2"])
        #expect(errors.map(\.code) == ["AccessDenied", "NoSuchKey"])
        #expect(errors.map(\.message) == ["Access Denied", ""])
        #expect(try #require(S3XML.deleteErrors(Array("<DeleteResult/>".utf8))).isEmpty)
        #expect(
            S3XML.uploadID(
                Array(
                    "<InitiateMultipartUploadResult><Bucket>b</Bucket><UploadId>a&amp;b</UploadId></InitiateMultipartUploadResult>"
                        .utf8)) == "a&b")
        #expect(S3XML.uploadID(Array("<InitiateMultipartUploadResult><UploadId>x</UploadId>".utf8)) == nil)
    }

    @Test func requestBodiesReadBack() throws {
        let keys = ["a<b>&\"c'", "déjà"]
        let request = try XMLReader.parse(S3XML.deleteRequest(keys: keys))
        #expect(request.all("Object").compactMap { $0.value("Key") } == keys)
        let complete = try XMLReader.parse(S3XML.completeRequest(etags: ["\"e1\"", "\"e2\""]))
        #expect(complete.all("Part").compactMap { $0.value("ETag") } == ["\"e1\"", "\"e2\""])
        #expect(complete.all("Part").compactMap { $0.value("PartNumber") } == ["1", "2"])
    }
}

/// The pieces that replaced Foundation's base64 and string trimming.
@Suite struct S3EncodingTests {
    @Test func base64MatchesRFC4648Vectors() {
        let vectors = [
            "": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=",
            "foobar": "Zm9vYmFy",
        ]
        for (input, expected) in vectors.sorted(by: { $0.key < $1.key }) {
            #expect(Digests.base64(Array(input.utf8)) == expected, "\(input)")
        }
        #expect(Digests.base64([0xFB, 0xFF, 0xBF]) == "+/+/")
        #expect(Digests.contentMD5(Array("hello".utf8)) == "XUFAKrxLKna5cZ2REBfFkg==")
    }

    @Test func headerLinesAreTrimmed() {
        let trim = { (text: String) in String(decoding: HeaderLine.trimmed(Array(text.utf8)[...]), as: UTF8.self) }
        #expect(trim("ETag: \"x\"\r\n") == "ETag: \"x\"")
        #expect(trim(" \t value \t") == "value")
        #expect(trim("\r\n") == "")
        #expect(trim("") == "")
    }

    @Test func defaultSpoolDirectoryIsAbsolute() {
        #expect(CurlTransportOptions.defaultSpoolDirectory().hasPrefix("/"))
    }
}

extension String {
    /// Plain substring replacement, without Foundation.
    fileprivate func replacingAll(_ target: String, with replacement: String) -> String {
        var out = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound]
            out += replacement
            rest = rest[range.upperBound...]
        }
        return out + rest
    }
}
