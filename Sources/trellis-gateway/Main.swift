import Gateway

@main
struct Main {
    static func main() async throws {
        try await Platform.runGateway()
    }
}
