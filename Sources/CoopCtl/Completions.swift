import ArgumentParser
import CoopClient
import Foundation

/// Shell completion of country and indicator codes, asked of the running coopd (ListCountries, ListIndicators).
///
/// The shell runs `coopctl ---completion SUBCOMMAND… -- ARGUMENT INDEX CURSOR WORD…` (swift-argument-parser's
/// custom completions, see `coopctl --generate-completion-script`); coopctl answers with one code per line. The
/// socket is the one the command line names with `--socket`, else found as for any command (`$COOP_SOCKET`, …).
/// coopd gets `patience` to answer; when it is down, slow or failing the answer is empty and the exit status 0,
/// so the shell quietly offers nothing. The shell filters the codes by what was typed.
enum CodeCompletion {
    static let patience: Duration = .milliseconds(300)

    /// Country codes, for `--from`, `--to` and the countries of `summary`.
    static var countries: CompletionKind {
        .custom { words, _, _ in
            await codes(words) { client, options in try await client.listCountries(options: options).map(\.code) }
        }
    }

    /// Indicator codes, for `--indicator` and the indicator of `series`.
    static var indicators: CompletionKind {
        .custom { words, _, _ in
            await codes(words) { client, options in try await client.listIndicators(options: options).map(\.code) }
        }
    }

    static func codes(
        _ words: [String], _ list: @Sendable (CoopClient, CallOptions) async throws -> [String]
    ) async -> [String] {
        guard
            let path = try? SocketLocator(
                explicit: socketArgument(in: words), environment: ProcessInfo.processInfo.environment
            ).locate()
        else { return [] }
        let client = CoopClient(socketPath: path)
        let codes = try? await list(client, CallOptions(timeout: patience))
        await client.close()
        return (codes ?? []).sorted()
    }

    /// The value of the last `--socket PATH` or `--socket=PATH` among the words of the command line.
    static func socketArgument(in words: [String]) -> String? {
        var socket: String?
        for (index, word) in words.enumerated() {
            if word == "--socket", index + 1 < words.count {
                socket = words[index + 1]
            } else if word.hasPrefix("--socket=") {
                socket = String(word.dropFirst("--socket=".count))
            }
        }
        return socket
    }
}
