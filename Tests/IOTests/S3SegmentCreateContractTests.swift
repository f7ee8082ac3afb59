import Core
import IO
import Testing

/// Against moto: WAL segments go up as creates (`If-None-Match: *` on the PUT and on
/// CompleteMultipartUpload), so a key once written keeps its body whoever writes it next.
@Suite(
    "S3 contract: WAL segment writes are creates (moto)", .serialized,
    .enabled(if: MotoServer.mustRun, "python3 -m moto.server is not installed (./Scripts/test installs it)"))
struct S3SegmentCreateContractTests {
    let generation = Generation(value: 0x0000_0180_0000_0002)

    @Test(arguments: [8 << 20, 64 * 1024])
    func secondSegmentWriteIsRefused(partSize: Int) async throws {
        try await withMoto { moto in
            try await moto.createBucket("creates")
            let client = try moto.client(bucket: "creates", partSize: partSize)
            let position = Position(generation: generation, index: 1, offset: 0x2000)
            let first = S3ContractTests.bytes(150 * 1024, seed: 1)
            try await client.writeWALSegment(at: position, data: BytesSource(first))
            let refusal = await #expect(throws: ReplicaClientError.self) {
                try await client.writeWALSegment(
                    at: position, data: BytesSource(S3ContractTests.bytes(200 * 1024, seed: 2)))
            }
            guard case .alreadyExists = refusal else {
                Issue.record("expected alreadyExists, got \(String(describing: refusal))")
                return
            }
            let read = try await client.openWALSegment(at: position)
            #expect(try await read.readToEnd() == first)
            await read.close()
            #expect(try await client.walSegments(in: generation).map(\.size) == [Int64(first.count)])
        }
    }
}
