import Core

/// A directed probe for one promise of invariant 8: a WAL index whose first segment is missing
/// from the listing is refused by the planner (`missingInitialSegment`, Litestream #224/#805).
///
/// The damage oracle checks it on every failed restore (`planNotExact`), but random probes only
/// rarely plan through the one index that lost its first segment while damage lasts: the swarm's
/// seeds 1..1000 stopped catching a planner that lets such an index through once the lease
/// keeper and segment creates reshuffled them. So after each interim probe, while the store
/// holds a lost offset-0 segment whose index still serves later segments, this restores to the
/// end of that index and lets the damage oracle judge the outcome.
extension SimWorld {
    func probeLostFirstSegment(label: String) async throws {
        guard damageActive else { return }
        var targets: [Position] = []
        for entry in await store.lostKeysWithSiblings() {
            guard case .walSegment(let lost)? = client.object(at: entry.lost), lost.offset == 0 else { continue }
            let servesLater = entry.siblings.contains { key in
                guard case .walSegment(let position)? = client.object(at: key) else { return false }
                return position.generation == lost.generation && position.index == lost.index && position.offset > 0
            }
            if servesLater { targets.append(lost) }
        }
        // The first one, without a draw: seeds without such a hole keep every random stream as it was.
        guard let target = targets.first else { return }
        let described =
            "\(label) lost-first: to the end of WAL index \(Hex.format(target.index, width: 16)) of \(target.generation)"
        SimTrace.record(described)
        let request = RestoreRequest(
            outputPath: restoreOutput("lost-first"), generation: target.generation, target: .index(target.index),
            parallelism: 2)
        do {
            let restored = try await restoreAndReadReport(request, label: described)
            // The segment was written again (or the store healed) between the look and the restore.
            SimTrace.record("\(described): restored commit \(restored.state.commit)")
        } catch let violation as InvariantViolation {
            throw violation
        } catch is RestoreFailedOnDamage {
            SimTrace.record("\(described): refused on the missing history")
        } catch {
            // Anything else (store faults, retention) is the other probes' business.
            SimTrace.record("\(described): failed: \(error)")
        }
    }
}
