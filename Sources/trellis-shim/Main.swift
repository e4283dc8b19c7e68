import TrellisShim

/// The supervisor of one task execution, started by the local backend (see `Shim`).
@main
struct Main {
    static func main() {
        Shim.main()
    }
}
