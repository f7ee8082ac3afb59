import Testing

@testable import Core
@testable import IO

@Suite struct S3URLAndConfigurationTests {
    @Test func parsesS3URLs() throws {
        let url = try ReplicaURL(
            parsing:
                "s3://my-bucket/db/prod/?endpoint=http%3A%2F%2F127.0.0.1%3A9000&region=eu-west-1&force-path-style=true&skip-verify=true"
        )
        #expect(
            url
                == .s3(
                    S3Location(
                        bucket: "my-bucket", prefix: "db/prod", endpoint: "http://127.0.0.1:9000",
                        region: "eu-west-1", forcePathStyle: true, skipVerify: true)))
        #expect(try ReplicaURL(parsing: url.description) == url)
        #expect(try ReplicaURL(parsing: "s3://bucket") == .s3(S3Location(bucket: "bucket")))
        #expect(ReplicaURL.s3(S3Location(bucket: "bucket", prefix: "a b")).description == "s3://bucket/a%20b")
    }

    @Test(arguments: [
        ("s3://bucket/p?colour=blue", "unknown option 'colour'"),
        ("s3:///p", "names no bucket"),
        ("s3://UPPER/p", "not a valid bucket name"),
        ("s3://key:secret@bucket/p", "credentials do not belong"),
        ("s3://bucket/p?endpoint=localhost:9000", "must start with http"),
        ("s3://bucket/p?skip-verify=maybe", "true or false"),
        ("s3://bucket/p?region=a&region=b", "given twice"),
    ])
    func rejectsBadS3URLs(text: String, reason: String) {
        do {
            _ = try ReplicaURL(parsing: text)
            Issue.record("\(text) parsed")
        } catch {
            #expect(error.description.contains(reason), "\(error.description)")
            #expect(!error.description.contains("secret"))
        }
    }

    static let location = S3Location(bucket: "bucket", prefix: "p")

    @Test func credentialsComeFromTheEnvironmentFirst() throws {
        let c = try S3Configuration.resolve(
            Self.location,
            environment: [
                "AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "SK", "AWS_SESSION_TOKEN": "TOK",
                "LITESTREAM_ACCESS_KEY_ID": "LAK", "LITESTREAM_SECRET_ACCESS_KEY": "LSK",
            ],
            readFile: { _ in
                Issue.record("file read")
                return nil
            })
        #expect(c.credentials == S3Credentials(accessKeyID: "AK", secretAccessKey: "SK", sessionToken: "TOK"))
        let l = try S3Configuration.resolve(
            Self.location,
            environment: [
                "LITESTREAM_ACCESS_KEY_ID": "LAK", "LITESTREAM_SECRET_ACCESS_KEY": "LSK",
            ], readFile: { _ in nil })
        #expect(l.credentials == S3Credentials(accessKeyID: "LAK", secretAccessKey: "LSK"))
    }

    @Test func credentialsFallBackToTheSharedFileProfile() throws {
        let file = """
            [default]
            aws_access_key_id = DEF
            aws_secret_access_key = DEFSECRET

            # a comment
            [backup]
            aws_access_key_id=BAK
            aws_secret_access_key = BAKSECRET
            aws_session_token = BAKTOKEN
            """
        var read: [String] = []
        let c = try S3Configuration.resolve(Self.location, environment: ["HOME": "/home/u", "AWS_PROFILE": "backup"]) {
            read.append($0)
            return file
        }
        #expect(read == ["/home/u/.aws/credentials"])
        #expect(
            c.credentials == S3Credentials(accessKeyID: "BAK", secretAccessKey: "BAKSECRET", sessionToken: "BAKTOKEN"))
        let d = try S3Configuration.resolve(Self.location, environment: ["AWS_SHARED_CREDENTIALS_FILE": "/etc/creds"]) {
            $0 == "/etc/creds" ? file : nil
        }
        #expect(d.credentials.accessKeyID == "DEF")
    }

    @Test func missingOrPartialCredentialsAreErrorsNamingTheBucket() {
        #expect(throws: S3ConfigurationError.missingCredentials(bucket: "bucket")) {
            try S3Configuration.resolve(Self.location, environment: ["HOME": "/nowhere"], readFile: { _ in nil })
        }
        #expect(
            throws: S3ConfigurationError.incompleteCredentials(
                bucket: "bucket", present: "AWS_ACCESS_KEY_ID", missing: "AWS_SECRET_ACCESS_KEY")
        ) {
            try S3Configuration.resolve(Self.location, environment: ["AWS_ACCESS_KEY_ID": "AK"], readFile: { _ in nil })
        }
        #expect(
            throws: S3ConfigurationError.profileMissing(bucket: "bucket", profile: "nope", file: "/h/.aws/credentials")
        ) {
            try S3Configuration.resolve(
                Self.location, environment: ["HOME": "/h", "AWS_PROFILE": "nope"], readFile: { _ in "[default]\n" })
        }
        #expect(S3ConfigurationError.missingCredentials(bucket: "bucket").description.contains("bucket"))
    }

    @Test func regionEndpointAndAddressing() throws {
        let env = ["AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "SK"]
        let aws = try S3Configuration.resolve(
            Self.location, environment: env.merging(["AWS_REGION": "eu-central-1"]) { $1 }, readFile: { _ in nil })
        #expect(aws.region == "eu-central-1")
        #expect(aws.endpointHost == "s3.eu-central-1.amazonaws.com")
        #expect(!aws.pathStyle)
        let fallback = try S3Configuration.resolve(
            Self.location, environment: env.merging(["AWS_DEFAULT_REGION": "ap-south-1"]) { $1 }, readFile: { _ in nil }
        )
        #expect(fallback.region == "ap-south-1")
        let custom = try S3Configuration.resolve(
            S3Location(bucket: "bucket", endpoint: "https://Minio.local:9000/s3"), environment: env,
            readFile: { _ in nil })
        #expect(custom.region == "us-east-1")
        #expect(
            (custom.scheme, custom.endpointHost, custom.endpointPath, custom.pathStyle) == (
                "https", "minio.local:9000", "/s3", true
            ))
        let forced = try S3Configuration.resolve(
            S3Location(bucket: "bucket", endpoint: "http://h", forcePathStyle: false), environment: env,
            readFile: { _ in nil })
        #expect(!forced.pathStyle)
        let dotted = try S3Configuration.resolve(
            S3Location(bucket: "my.bucket"), environment: env, readFile: { _ in nil })
        #expect(dotted.pathStyle)
        let ca = try S3Configuration.resolve(
            Self.location, environment: env.merging(["SSL_CERT_FILE": "/b", "CURL_CA_BUNDLE": "/a"]) { $1 },
            readFile: { _ in nil })
        #expect(ca.caBundle == "/a")
    }
}

@Suite struct S3XMLTests {
    @Test func parsesAListingPage() throws {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>p/</Prefix>
            <KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>
            <Contents><Key>p/a%20b.lz4</Key><LastModified>2026-11-25T10:00:01.500Z</LastModified><ETag>"x"</ETag><Size>42</Size></Contents>
            <Contents><Key>p/c</Key><LastModified>2026-11-25T10:00:02.000Z</LastModified><Size>7</Size></Contents>
            <CommonPrefixes><Prefix>p/gen%2F/</Prefix></CommonPrefixes>
            <NextContinuationToken>1/abc+=</NextContinuationToken></ListBucketResult>
            """
        let page = try #require(S3XML.listPage(Array(xml.utf8)))
        #expect(page.isTruncated)
        #expect(page.nextContinuationToken == "1/abc+=")
        #expect(page.objects.map(\.key) == ["p/a b.lz4", "p/c"])
        #expect(page.objects.map(\.size) == [42, 7])
        #expect(page.objects[0].lastModified == RFC3339.parse("2026-11-25T10:00:01.500Z"))
        #expect(page.commonPrefixes == ["p/gen//"])
        #expect(S3XML.listPage(Array("<Error><Code>x</Code></Error>".utf8)) == nil)
        #expect(S3XML.listPage(Array("not xml".utf8)) == nil)
    }

    @Test func parsesErrorsIncludingA200WithAnError() {
        let body = Array(
            "<?xml version=\"1.0\"?><Error><Code>InternalError</Code><Message>We encountered an internal error.</Message><RequestId>R1</RequestId></Error>"
                .utf8)
        #expect(
            S3XML.error(body)
                == S3XML.ErrorBody(code: "InternalError", message: "We encountered an internal error.", requestID: "R1")
        )
        let complete = Array("<CompleteMultipartUploadResult><ETag>\"e-2\"</ETag></CompleteMultipartUploadResult>".utf8)
        #expect(S3XML.error(complete) == nil)
        // A 200 with an <Error> is retried; a 200 without is success.
        #expect(S3RetryPolicy.isRetryable(.response(status: 200, code: "InternalError")))
        #expect(!S3RetryPolicy.isRetryable(.response(status: 200, code: nil)))
    }

    @Test func parsesDeleteResultsAndBuildsRequests() throws {
        let result = Array(
            "<DeleteResult><Deleted><Key>a</Key></Deleted><Error><Key>b&amp;c</Key><Code>AccessDenied</Code><Message>no</Message></Error></DeleteResult>"
                .utf8)
        let errors = try #require(S3XML.deleteErrors(result))
        #expect(errors.map(\.key) == ["b&c"])
        #expect(errors.map(\.code) == ["AccessDenied"])
        let request = String(decoding: S3XML.deleteRequest(keys: ["a<b", "c"]), as: UTF8.self)
        #expect(
            request.contains(
                "<Quiet>true</Quiet><Object><Key>a&lt;b</Key></Object><Object><Key>c</Key></Object></Delete>"))
        let complete = String(decoding: S3XML.completeRequest(etags: ["\"e1\"", "\"e2\""]), as: UTF8.self)
        #expect(
            complete.contains(
                "<Part><PartNumber>1</PartNumber><ETag>&quot;e1&quot;</ETag></Part><Part><PartNumber>2</PartNumber>"))
        #expect(
            S3XML.uploadID(
                Array("<InitiateMultipartUploadResult><UploadId>U-1</UploadId></InitiateMultipartUploadResult>".utf8))
                == "U-1")
        #expect(Digests.contentMD5([]) == "1B2M2Y8AsgTpgAmY7PhCfg==")
    }
}

@Suite struct S3RetryPolicyTests {
    let policy = S3RetryPolicy(maxAttempts: 5, baseDelay: .milliseconds(100), maxDelay: .seconds(1))

    @Test(arguments: [
        S3AttemptOutcome.response(status: 500, code: "InternalError"), .response(status: 503, code: "SlowDown"),
        .response(status: 502, code: nil), .response(status: 408, code: nil), .response(status: 429, code: nil),
        .response(status: 400, code: "RequestTimeout"), .response(status: 409, code: "ConditionalRequestConflict"),
        .transport(.couldNotConnect), .transport(.timedOut), .transport(.connectionLost), .transport(.couldNotResolve),
    ])
    func retriesTransientFailures(outcome: S3AttemptOutcome) {
        guard case .retry = policy.decide(attempt: 1, outcome: outcome, random: 12345) else {
            Issue.record("\(outcome) not retried")
            return
        }
        #expect(policy.decide(attempt: 5, outcome: outcome, random: 1) == .fail)
    }

    @Test(arguments: [
        S3AttemptOutcome.response(status: 403, code: "AccessDenied"),
        .response(status: 403, code: "SignatureDoesNotMatch"),
        .response(status: 404, code: "NoSuchBucket"), .response(status: 412, code: "PreconditionFailed"),
        .response(status: 400, code: "InvalidArgument"), .response(status: 301, code: "PermanentRedirect"),
        .transport(.tls), .transport(.other),
    ])
    func failsFastOnPermanentErrors(outcome: S3AttemptOutcome) {
        #expect(policy.decide(attempt: 1, outcome: outcome, random: 0) == .fail)
    }

    @Test func backoffIsJitteredExponentialAndCapped() {
        let outcome = S3AttemptOutcome.response(status: 500, code: nil)
        // The largest draw reaches the ceiling: base * 2^(attempt-1), capped at maxDelay.
        let ceilings = (1...4).map { attempt -> Int64 in
            guard case .retry(let delay) = policy.decide(attempt: attempt, outcome: outcome, random: UInt64.max) else {
                return -1
            }
            return delay.milliseconds
        }
        let expectedCeilings = (1...4).map { attempt -> Int64 in
            let ceiling = min(Int64(1000), Int64(100) << (attempt - 1))
            return Int64(UInt64.max % UInt64(ceiling + 1))
        }
        #expect(ceilings == expectedCeilings)
        for random in [0, 7, 999_999] as [UInt64] {
            guard case .retry(let delay) = policy.decide(attempt: 3, outcome: outcome, random: random) else {
                Issue.record("no retry")
                continue
            }
            #expect(delay.milliseconds >= 0 && delay.milliseconds <= 400)
        }
        // SlowDown starts four times higher.
        guard
            case .retry(let slow) = policy.decide(
                attempt: 1, outcome: .response(status: 503, code: "SlowDown"), random: 400)
        else {
            Issue.record("no retry")
            return
        }
        #expect(slow == .milliseconds(400))
    }

    @Test func onlyUnseenOutcomesMayHaveApplied() {
        #expect(S3RetryPolicy.mayHaveApplied(.transport(.timedOut)))
        #expect(S3RetryPolicy.mayHaveApplied(.response(status: 503, code: nil)))
        #expect(!S3RetryPolicy.mayHaveApplied(.transport(.couldNotConnect)))
        #expect(!S3RetryPolicy.mayHaveApplied(.response(status: 412, code: nil)))
        #expect(CurlErrorKind.kind(of: 7) == .couldNotConnect)
        #expect(CurlErrorKind.kind(of: 28) == .timedOut)
        #expect([52, 55, 56].map(CurlErrorKind.kind(of:)) == [.connectionLost, .connectionLost, .connectionLost])
        #expect(CurlErrorKind.kind(of: 60) == .tls)
    }
}

@Suite struct S3PartAccumulatorTests {
    @Test(arguments: [(0, 10, [Int]()), (10, 10, [10]), (25, 10, [10, 10]), (9, 10, [Int]())])
    func cutsEqualParts(total: Int, partSize: Int, expected: [Int]) {
        var accumulator = S3PartAccumulator(partSize: partSize)
        var parts: [[UInt8]] = []
        var fed = 0
        var step = 1
        while fed < total {
            let count = min(step, total - fed)
            parts += accumulator.append((fed..<fed + count).map { UInt8($0 & 0xFF) })
            fed += count
            step = step % 7 + 2
        }
        #expect(parts.map(\.count) == expected)
        let tail = accumulator.finish()
        #expect(tail.count == total - expected.reduce(0, +))
        #expect((parts + [tail]).flatMap { $0 } == (0..<total).map { UInt8($0 & 0xFF) })
    }

    @Test func clampsToS3Limits() {
        #expect(S3PartAccumulator.clamp(1) == 5 << 20)
        #expect(S3PartAccumulator.clamp(8 << 20) == 8 << 20)
        #expect(S3PartAccumulator.clamp(Int.max) == 5 << 30)
    }
}
