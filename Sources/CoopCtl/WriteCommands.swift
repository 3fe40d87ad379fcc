import ArgumentParser
import CoopClient
import CoopFormats
import CoopProto
import Foundation
import SwiftProtobuf

/// Prints what a write stored: the message as JSON, `kind,id` as CSV, or one line.
func printStored(_ message: some SwiftProtobuf.Message, kind: String, id: String, line: String, format: OutputFormat) throws {
    switch format {
    case .json: Console.out(try JSONOutput.message(message))
    case .csv: Printer(format: .csv).csv(header: ["kind", "id"], rows: [[kind, id]])
    case .table: Console.out(line)
    }
}

// MARK: source

struct SourceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "source", abstract: "Record the documents facts were read in.", subcommands: [Add.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a source (or replace one with --replace ID); prints its id.",
            discussion: """
                Example:
                  coopctl source add --title "Foreign Workers in Japan Top 2 M" --publisher "Jiji Press via nippon.com" \\
                    --url https://www.nippon.com/en/news/yjj2024012600746/ --published 2024-01-26 --kind news
                """)

        @Option(help: "Title of the document.") var title: String
        @Option(help: "Who published what was read.") var publisher: String
        @Option(help: "The publisher behind a reprint or agency story.") var originalPublisher: String?
        @Option(help: "Where it was read.") var url: String?
        @Option(help: ArgumentHelp("Publication date.", valueName: "date")) var published: String?
        @Option(help: "Kind of document.") var kind: Coop_V1_SourceKind?
        @Option(help: "Language (BCP 47: en, vi, ja).") var language: String?
        @Option(help: "Free-text note.") var note: String?
        @Option(help: ArgumentHelp("Replace source ID instead of adding one.", valueName: "id")) var replace: Int64?

        @OptionGroup var write: WriteOptions
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws { try checkDate(published, "--published") }

        func run() async throws {
            let source = Coop_V1_Source.with {
                $0.id = replace ?? 0
                $0.title = title
                $0.publisher = publisher
                $0.originalPublisher = originalPublisher ?? ""
                $0.url = url ?? ""
                $0.published = published ?? ""
                $0.kind = kind ?? .unspecified
                $0.language = language ?? ""
                $0.note = note ?? ""
            }
            let stored = try await connection.run { client in
                try await client.putSource(source, requestID: write.resolvedRequestID, options: connection.callOptions)
            }
            try printStored(
                stored, kind: "source", id: String(stored.id), line: "source \(stored.id): \(stored.title)",
                format: output.format)
        }
    }
}

// MARK: indicator

struct IndicatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "indicator", abstract: "Describe what is measured.", subcommands: [Add.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an indicator, or replace the one with this code.",
            discussion: """
                Example:
                  coopctl indicator add JP_MHLW_FOREIGN_WORKERS --name "Foreign workers in Japan" --measure stock \\
                    --unit persons --period-basis as_of_date --compiler MHLW
                """)

        @Argument(help: "Code: upper-case letters, digits and _, e.g. JP_MHLW_FOREIGN_WORKERS.") var code: String
        @Option(help: "Name.") var name: String
        @Option(help: "What kind of figure it is.") var measure: Coop_V1_Measure
        @Option(help: "Unit, e.g. persons, JPY.") var unit: String?
        @Option(help: "Who publishes it.") var compiler: String?
        @Option(help: "Period basis.") var periodBasis: Coop_V1_PeriodBasis?
        @Option(help: ArgumentHelp("A breakdown dimension, e.g. status_of_residence (repeatable).", valueName: "key"))
        var breakdownDimension: [String] = []
        @Option(help: "Description.") var description: String?

        @OptionGroup var write: WriteOptions
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let indicator = Coop_V1_Indicator.with {
                $0.code = code
                $0.name = name
                $0.measure = measure
                $0.unit = unit ?? ""
                $0.compiler = compiler ?? ""
                $0.periodBasis = periodBasis ?? .unspecified
                $0.breakdownDimensions = breakdownDimension
                $0.description_p = description ?? ""
            }
            let stored = try await connection.run { client in
                try await client.putIndicator(indicator, requestID: write.resolvedRequestID, options: connection.callOptions)
            }
            try printStored(
                stored, kind: "indicator", id: stored.code, line: "indicator \(stored.code): \(stored.name)",
                format: output.format)
        }
    }
}

// MARK: figure

/// The value options of `figure add` and `figure revise`.
struct ValueOptions: ParsableArguments {
    // Unconditional: "-5" is a value (which coopd then refuses as negative), not an unknown option.
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("The value as published: 110013, 2.6 (with --unit \"trillion JPY\").", valueName: "number"))
    var value: String

    @Option(parsing: .unconditional, help: ArgumentHelp("Upper end of a range (same unit).", valueName: "number"))
    var valueHigh: String?

    @Option(help: ArgumentHelp(
        "Unit, optionally scaled: persons, JPY, \"billion JPY\". Default: the indicator's.", valueName: "unit"))
    var unit: String?

    @Option(help: ArgumentHelp(
        "How the source words it: approx (\"about\"), at_least (\"over\"), at_most (\"under\"); default exact."))
    var qualifier: Coop_V1_Qualifier?

    @Option(help: "The value's status as published; default normal.")
    var status: Coop_V1_ObservationStatus?

    @Option(help: ArgumentHelp("The source it was read in (see coopctl sources; coopctl source add).", valueName: "id"))
    var source: Int64

    @Option(help: ArgumentHelp("When the value was published; default the source's date.", valueName: "date"))
    var vintage: String?

    @Option(help: "Table, page or paragraph in the source.")
    var locator: String?

    @Option(help: "Free-text note.")
    var note: String?

    func validate() throws { try checkDate(vintage, "--vintage") }

    /// Fills value, unit and the rest of `o`.
    func apply(to o: inout Coop_V1_Observation) throws {
        let low = try Amount.parse(value, unit: unit ?? "")
        o.value = low.value
        o.unitMultiplier = low.multiplier
        o.unit = low.unit
        if let valueHigh {
            let high = try Amount.parse(valueHigh, unit: unit ?? "")
            let (a, b, m) = try Amount.aligned(low.value, low.multiplier, high.value, high.multiplier)
            o.value = a
            o.valueHigh = b
            o.unitMultiplier = m
        }
        o.qualifier = qualifier ?? .exact
        o.status = status ?? .unspecified
        o.sourceID = source
        o.vintage = vintage ?? ""
        o.locator = locator ?? ""
        o.note = note ?? ""
    }
}

struct FigureCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "figure", abstract: "Record, revise or retract an observation.",
        subcommands: [Add.self, Revise.self, Retract.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record one observation; prints its id.",
            discussion: """
                Example:
                  coopctl figure add --indicator JP_MHLW_FOREIGN_WORKERS --from VN --to JP --period 2024-10-31 \\
                    --value 570708 --source 12
                """)

        @Option(help: "Indicator code.", completion: CodeCompletion.indicators) var indicator: String
        @Option(help: ArgumentHelp("Origin country.", valueName: "code"), completion: CodeCompletion.countries)
        var from: String
        @Option(help: ArgumentHelp("Destination country.", valueName: "code"), completion: CodeCompletion.countries)
        var to: String
        @Option(help: ArgumentHelp("An as-of date (a stock): start and end.", valueName: "date")) var period: String?
        @Option(help: ArgumentHelp("First day of the period (a flow).", valueName: "date")) var start: String?
        @Option(help: ArgumentHelp("Last day of the period.", valueName: "date")) var end: String?
        @Option(help: ArgumentHelp("Breakdown, KEY=VALUE (repeatable).", valueName: "key=value"))
        var breakdown: [String] = []
        @OptionGroup var values: ValueOptions

        @OptionGroup var write: WriteOptions
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if period == nil && (start == nil || end == nil) {
                throw ValidationError("give --period DATE (a stock) or --start DATE --end DATE (a flow)")
            }
            if period != nil && (start != nil || end != nil) {
                throw ValidationError("--period cannot be combined with --start/--end")
            }
            try checkDate(period, "--period")
            try checkDate(start, "--start")
            try checkDate(end, "--end")
            for item in breakdown { _ = try Breakdown.parse(item) }
        }

        func run() async throws {
            var o = Coop_V1_Observation()
            o.indicator = indicator
            o.origin = countryCode(from)
            o.destination = countryCode(to)
            o.periodStart = period ?? start ?? ""
            o.periodEnd = period ?? end ?? ""
            o.breakdown = try breakdown.map(Breakdown.parse)
            try values.apply(to: &o)
            let stored = try await connection.run { client in
                try await client.addObservations([o], requestID: write.resolvedRequestID, options: connection.callOptions)
            }
            guard let first = stored.first else { throw CtlError(.failure, "coopd stored nothing") }
            try printStored(
                first, kind: "observation", id: String(first.id),
                line: "observation \(first.id): \(first.indicatorLabel) \(first.pairLabel) \(first.periodLabel) = "
                    + "\(first.displayValue) \(first.unit)",
                format: output.format)
        }
    }

    struct Revise: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a new vintage of observation ID (nothing is overwritten); prints the new id.",
            discussion: """
                The revision keeps the indicator, pair, breakdown and period of the one it supersedes.

                Example:
                  coopctl figure revise 73 --value 152000 --qualifier approx --source 40 --vintage 2023-01
                """)

        @Argument(help: "The observation superseded.") var id: Int64
        @OptionGroup var values: ValueOptions

        @OptionGroup var write: WriteOptions
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            var revision = Coop_V1_Observation()
            try values.apply(to: &revision)
            let stored = try await connection.run { client in
                try await client.reviseObservation(
                    supersedes: id, with: revision, requestID: write.resolvedRequestID, options: connection.callOptions)
            }
            try printStored(
                stored, kind: "observation", id: String(stored.id),
                line: "observation \(stored.id) revises \(id): \(stored.indicatorLabel) \(stored.pairLabel) "
                    + "\(stored.periodLabel) = \(stored.displayValue) \(stored.unit)",
                format: output.format)
        }
    }

    struct Retract: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Mark observation ID as retracted (it stays, flagged, with the reason).")

        @Argument(help: "The observation.") var id: Int64
        @Option(help: "Why it is retracted.") var reason: String

        @OptionGroup var write: WriteOptions
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let stored = try await connection.run { client in
                try await client.retractObservation(
                    id, reason: reason, requestID: write.resolvedRequestID, options: connection.callOptions)
            }
            try printStored(
                stored, kind: "observation", id: String(stored.id),
                line: "observation \(stored.id) retracted: \(stored.retractionReason)", format: output.format)
        }
    }
}

// MARK: event

/// "Dao Ngoc Dung", or "name=Dao Ngoc Dung;native=Đào Ngọc Dung;title=Minister;org=MOLISA;country=VN".
func parseParticipant(_ text: String) throws -> Coop_V1_Participant {
    var p = Coop_V1_Participant()
    guard text.contains("=") else {
        p.name = text
        return p
    }
    for item in text.split(separator: ";") {
        let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2 else { throw ValidationError("participant: expected key=value, got \"\(item)\"") }
        switch parts[0] {
        case "name": p.name = parts[1]
        case "native", "native_name": p.nativeName = parts[1]
        case "title": p.title = parts[1]
        case "org", "organisation", "organization": p.organisation = parts[1]
        case "country": p.country = parts[1].uppercased()
        default: throw ValidationError("participant: unknown key \"\(parts[0])\" (name, native, title, org, country)")
        }
    }
    return p
}

struct EventCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "event", abstract: "Record meetings, visits, signings and other events.", subcommands: [Add.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an event (or replace one with --replace ID); prints its id.",
            discussion: """
                Example:
                  coopctl event add --kind meeting --title "Labour ministers meet" --country VN --country JP \\
                    --actual 2024-04-09 --participant "name=Dao Ngoc Dung;native=Đào Ngọc Dung;country=VN" --source 3
                """)

        @Option(help: "Kind of event.") var kind: Coop_V1_EventKind
        @Option(help: "Status; default held with --actual, else announced.") var status: Coop_V1_EventStatus?
        @Option(help: "Title.") var title: String
        @Option(help: ArgumentHelp("A country involved (repeatable).", valueName: "code")) var country: [String] = []
        @Option(help: ArgumentHelp("Planned date.", valueName: "date")) var planned: String?
        @Option(help: ArgumentHelp("Date it took place.", valueName: "date")) var actual: String?
        @Option(help: "Place.") var place: String?
        @Option(help: "Summary.") var summary: String?
        @Option(help: ArgumentHelp(
            "A participant: a name, or name=…;native=…;title=…;org=…;country=… (repeatable).", valueName: "who"))
        var participant: [String] = []
        @Option(help: ArgumentHelp("A source id (repeatable).", valueName: "id")) var source: [Int64] = []
        @Option(help: ArgumentHelp("A related event id (repeatable).", valueName: "id")) var related: [Int64] = []
        @Option(help: ArgumentHelp("Replace event ID instead of adding one.", valueName: "id")) var replace: Int64?

        @OptionGroup var write: WriteOptions
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            try checkDate(planned, "--planned")
            try checkDate(actual, "--actual")
            for item in participant { _ = try parseParticipant(item) }
        }

        func run() async throws {
            let event = try Coop_V1_Event.with {
                $0.id = replace ?? 0
                $0.kind = kind
                $0.status = status ?? (actual == nil ? .announced : .held)
                $0.title = title
                $0.countries = country.map { $0.uppercased() }
                $0.plannedDate = planned ?? ""
                $0.actualDate = actual ?? ""
                $0.place = place ?? ""
                $0.summary = summary ?? ""
                $0.participants = try participant.map(parseParticipant)
                $0.sourceIds = source
                $0.relatedEventIds = related
            }
            let stored = try await connection.run { client in
                try await client.putEvent(event, requestID: write.resolvedRequestID, options: connection.callOptions)
            }
            try printStored(
                stored, kind: "event", id: String(stored.id),
                line: "event \(stored.id) (\(stored.dateLabel)): \(stored.title)", format: output.format)
        }
    }
}

// MARK: agreement

struct AgreementCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agreement", abstract: "Record memoranda, treaties and joint statements.", subcommands: [Add.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an agreement (or replace one with --replace ID); prints its id.",
            discussion: """
                Example:
                  coopctl agreement add --kind memorandum --title "MoC on specified skilled workers" \\
                    --party MOLISA:VN --party "Government of Japan:JP" --signed 2019-07-01 \\
                    --topic specified_skilled_workers --source 5
                """)

        @Option(help: "Kind of agreement.") var kind: Coop_V1_AgreementKind
        @Option(help: "Title.") var title: String
        @Option(help: ArgumentHelp(
            "A party: NAME, NAME:CC, or NAME:CC:subnational (repeatable).", valueName: "party"))
        var party: [String] = []
        @Option(help: ArgumentHelp("Date signed.", valueName: "date")) var signed: String?
        @Option(help: ArgumentHelp("Date in force.", valueName: "date")) var effective: String?
        @Option(help: "Place signed.") var place: String?
        @Option(help: ArgumentHelp("A topic (repeatable).", valueName: "topic")) var topic: [String] = []
        @Option(help: "Where the text is.") var textURL: String?
        @Option(help: ArgumentHelp("A source id (repeatable).", valueName: "id")) var source: [Int64] = []
        @Option(help: ArgumentHelp("The event it was signed at.", valueName: "id")) var event: Int64?
        @Option(help: "Summary.") var summary: String?
        @Option(help: ArgumentHelp("Replace agreement ID instead of adding one.", valueName: "id")) var replace: Int64?

        @OptionGroup var write: WriteOptions
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            try checkDate(signed, "--signed")
            try checkDate(effective, "--effective")
        }

        static func parseParty(_ text: String) -> Coop_V1_Party {
            var parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            var party = Coop_V1_Party()
            if parts.count >= 2, parts.last == "subnational" {
                party.subnational = true
                parts.removeLast()
            }
            if parts.count >= 2, let code = parts.last, code.count == 2, code.allSatisfy(\.isLetter) {
                party.country = code.uppercased()
                parts.removeLast()
            }
            party.name = parts.joined(separator: ":")
            return party
        }

        func run() async throws {
            let agreement = Coop_V1_Agreement.with {
                $0.id = replace ?? 0
                $0.kind = kind
                $0.title = title
                $0.parties = party.map(Self.parseParty)
                $0.signedDate = signed ?? ""
                $0.effectiveDate = effective ?? ""
                $0.place = place ?? ""
                $0.topics = topic
                $0.textURL = textURL ?? ""
                $0.sourceIds = source
                $0.eventID = event ?? 0
                $0.summary = summary ?? ""
            }
            let stored = try await connection.run { client in
                try await client.putAgreement(agreement, requestID: write.resolvedRequestID, options: connection.callOptions)
            }
            try printStored(
                stored, kind: "agreement", id: String(stored.id),
                line: "agreement \(stored.id) (\(stored.signedDate)): \(stored.title)", format: output.format)
        }
    }
}

// MARK: statement

struct StatementCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "statement", abstract: "Record what a person said.", subcommands: [Add.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a statement, optionally naming the figure it states and the statistics it conflicts with.",
            discussion: """
                Example:
                  coopctl statement add --speaker "Dao Ngoc Dung" --speaker-country VN --said-on 2022-06-29 \\
                    --text "About 500,000 Vietnamese live and work in Japan" --source 7 --claim-observation 95 \\
                    --conflicts-with 31
                """)

        @Option(help: "Who spoke.") var speaker: String
        @Option(help: "The speaker's name in their script, e.g. Đào Ngọc Dung.") var speakerNative: String?
        @Option(help: "The speaker's title.") var speakerTitle: String?
        @Option(help: "The speaker's organisation.") var speakerOrganisation: String?
        @Option(help: ArgumentHelp("The speaker's country.", valueName: "code")) var speakerCountry: String?
        @Option(help: ArgumentHelp("Date said.", valueName: "date")) var saidOn: String
        @Option(help: "What was said (paraphrase).") var text: String
        @Option(help: ArgumentHelp("Where it was reported.", valueName: "id")) var source: Int64
        @Option(help: ArgumentHelp("The event it was said at.", valueName: "id")) var event: Int64?
        @Option(help: ArgumentHelp("The figure stated (an observation of a claim indicator).", valueName: "id"))
        var claimObservation: Int64?
        @Option(help: ArgumentHelp("A statistic it disagrees with (repeatable).", valueName: "id"))
        var conflictsWith: [Int64] = []
        @Option(help: "Free-text note.") var note: String?

        @OptionGroup var write: WriteOptions
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func validate() throws { try checkDate(saidOn, "--said-on") }

        func run() async throws {
            let statement = Coop_V1_Statement.with {
                $0.speaker = .with {
                    $0.name = speaker
                    $0.nativeName = speakerNative ?? ""
                    $0.title = speakerTitle ?? ""
                    $0.organisation = speakerOrganisation ?? ""
                    $0.country = countryCode(speakerCountry)
                }
                $0.saidOn = saidOn
                $0.text = text
                $0.sourceID = source
                $0.eventID = event ?? 0
                $0.claimObservationID = claimObservation ?? 0
                $0.conflictsWith = conflictsWith
                $0.note = note ?? ""
            }
            let stored = try await connection.run { client in
                try await client.addStatement(statement, requestID: write.resolvedRequestID, options: connection.callOptions)
            }
            try printStored(
                stored, kind: "statement", id: String(stored.id),
                line: "statement \(stored.id) by \(stored.speaker.name) (\(stored.saidOn))", format: output.format)
        }
    }
}

// MARK: conflict

struct ConflictCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "conflict", abstract: "Link observations that disagree.", subcommands: [Link.self])

    struct Link: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record that observations A and B disagree (both stay; figures --conflicts shows them).")

        @Argument(help: "One observation.") var a: Int64
        @Argument(help: "The other.") var b: Int64
        @Option(help: "Why they disagree.") var note: String?

        @OptionGroup var write: WriteOptions
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let stored = try await connection.run { client in
                try await client.linkConflict(
                    a, with: b, note: note ?? "", requestID: write.resolvedRequestID, options: connection.callOptions)
            }
            try printStored(
                stored, kind: "observation", id: String(stored.id),
                line: "observations \(a) and \(b) conflict", format: output.format)
        }
    }
}
