/// A plan's tasks by position: each name's position, each task's upstreams and dependents, and its rank in the
/// dependency order — built once per plan in time linear in its tasks and dependencies, so that a run's steps never
/// search the plan.
public struct PlanIndex: Sendable {
    /// Task names, in the plan's order (a task's position is its index here).
    public let names: [String]
    public let positions: [String: Int]
    /// Upstream positions of each task (an upstream the plan does not have is left out and counted in ``unknownUpstreams``).
    public let upstreams: [[Int]]
    public let dependents: [[Int]]
    /// Upstreams each task names that the plan does not have: such a task never starts (plans are checked at save, so
    /// this is for a corrupt plan only).
    public let unknownUpstreams: [Int]
    /// Each task's place in the dependency order: by depth (the longest chain of upstreams above it), then by the
    /// plan's order. Tasks on a cycle come last.
    public let ranks: [Int]
    /// Positions in the dependency order.
    public let order: [Int]

    public init(_ plan: RunPlan) {
        names = plan.tasks.map(\.name)
        var positions: [String: Int] = [:]
        positions.reserveCapacity(names.count)
        for (position, name) in names.enumerated() where positions[name] == nil { positions[name] = position }
        var upstreams = [[Int]](repeating: [], count: names.count)
        var dependents = [[Int]](repeating: [], count: names.count)
        var unknown = [Int](repeating: 0, count: names.count)
        for (position, task) in plan.tasks.enumerated() {
            for name in Set(task.dependsOn) {
                if let upstream = positions[name] {
                    upstreams[position].append(upstream)
                    dependents[upstream].append(position)
                } else {
                    unknown[position] += 1
                }
            }
        }
        // Kahn's algorithm, one wave at a time: a task's depth is one more than its deepest upstream's.
        var depth = [Int](repeating: Int.max, count: names.count)
        var waiting = upstreams.map(\.count)
        var wave = (0..<names.count).filter { waiting[$0] == 0 }
        var level = 0
        while !wave.isEmpty {
            var next: [Int] = []
            for position in wave {
                depth[position] = level
                for dependent in dependents[position] {
                    waiting[dependent] -= 1
                    if waiting[dependent] == 0 { next.append(dependent) }
                }
            }
            wave = next
            level += 1
        }
        order = (0..<names.count).sorted { (depth[$0], $0) < (depth[$1], $1) }
        var ranks = [Int](repeating: 0, count: names.count)
        for (rank, position) in order.enumerated() { ranks[position] = rank }
        self.positions = positions
        self.upstreams = upstreams
        self.dependents = dependents
        self.unknownUpstreams = unknown
        self.ranks = ranks
    }

    /// The position of `name` and of every task downstream of it.
    public func downstream(of position: Int) -> Set<Int> {
        var found: Set<Int> = [position]
        var queue = [position]
        while let next = queue.popLast() {
            for dependent in dependents[next] where found.insert(dependent).inserted { queue.append(dependent) }
        }
        return found
    }
}
