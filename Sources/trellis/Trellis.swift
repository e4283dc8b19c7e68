import ArgumentParser

@main
struct Trellis: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trellis",
        abstract: "Build, run and schedule ML and data pipelines.",
        subcommands: [
            Serve.self, Migrate.self, Login.self, Apply.self, Template.self, RunCommand.self, ScheduleCommand.self, Backfill.self,
            Vars.self,
            CronCommand.self, Export.self, ClusterCommand.self,
        ]
    )
}
