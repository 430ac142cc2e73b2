import ArgumentParser
import ServiceRuntime

/// The `--config FILE` option shared by the subcommands that need one.
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "The YAML configuration file.")
    var config: String
}
