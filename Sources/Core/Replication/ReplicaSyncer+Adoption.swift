/// Taking over a WAL segment found under the key an upload meant to create.
extension ReplicaSyncer {
    /// Where the segment already on the replica at `start` ends, taken as uploaded. It must hold
    /// exactly the local shadow's bytes from `start`: a store refuses a create under a taken key
    /// whoever took it, and only this history may be continued. A segment that is empty, ends
    /// past the shadow (`shadowEnd`) or differs from it is not this shadow's history: a new
    /// generation is asked for, as when the listing shows the replica ahead of the local WAL.
    func adoptSegment(at start: Position, shadowEnd: Int64) async throws -> Int64 {
        let path = database.state.shadowPath(start.generation, index: start.index)
        let shadow = try await environment.fileSystem.open(path, mode: .readOnly)
        var end = Int64(start.offset)
        var matches = true
        let source: LZ4DecompressingSource
        do {
            source = LZ4DecompressingSource(try await client.openWALSegment(at: start))
        } catch {
            try? await shadow.close()
            throw error
        }
        do {
            while matches {
                let chunk = try await source.read(upTo: options.chunkSize)
                if chunk.isEmpty { break }
                let local =
                    end + Int64(chunk.count) <= shadowEnd ? try await shadow.read(at: end, count: chunk.count) : []
                matches = local == chunk
                end += Int64(chunk.count)
            }
        } catch {
            await source.close()
            try? await shadow.close()
            throw error
        }
        await source.close()
        try? await shadow.close()
        guard matches, end > Int64(start.offset) else {
            let reason =
                "replica \(client.location) holds a WAL segment at \(start) that is not the local WAL's history"
            await database.requestNewGeneration(reason: reason)
            throw ReplicaSyncError.segmentNotOurs(replica: client.location, position: start)
        }
        logger.info(
            "WAL segment already on the replica (an earlier upload landed); going on after it",
            metadata: ["position": "\(start)", "end": "\(end)"])
        return end
    }
}
