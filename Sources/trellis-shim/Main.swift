import ClusterGateway

/// The supervisor of one task execution, started by the local backend (see `Shim`).
@main
struct Main {
    static func main() async {
        await Shim.main()
    }
}
