import Foundation
import Testing

extension MotoServer {
    /// Stores `body` under each of `keys` exactly as spelled, through boto3: Sluice's own
    /// client (libcurl) folds `.` and `..` path segments as a URL resolver must, so it cannot
    /// write the hostile keys a test needs.
    func putRawObjects(
        bucket: String, keys: [String], body: String = "x",
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let script = """
            import boto3, sys
            s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                              aws_access_key_id="sluice-test", aws_secret_access_key="sluice-test-secret")
            for key in sys.argv[4:]:
                s3.put_object(Bucket=sys.argv[2], Key=key, Body=sys.argv[3].encode())
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [Self.python, "-c", script, endpoint, bucket, body] + keys
        try process.run()
        try #require(
            waitForExit(process, timeout: .seconds(120)), "boto3 put_object hung", sourceLocation: sourceLocation)
        try #require(process.terminationStatus == 0, "boto3 put_object failed", sourceLocation: sourceLocation)
    }
}
