/// The cooperation data model, independent of storage and wire format.
///
/// Dates are ISO 8601 strings, full or partial ("2022-06-29", "2022-06", "2022"); countries are
/// ISO 3166-1 alpha-2 codes, with "_T" for "all partners". Ids are positive; 0 means none / new.

public struct Country: Codable, Hashable, Sendable {
    public var code: String
    public var name: String
    public var otherNames: [String]
    public init(code: String, name: String, otherNames: [String] = []) {
        self.code = code
        self.name = name
        self.otherNames = otherNames
    }
}

public struct RelationshipLevel: Codable, Hashable, Sendable {
    public var level: String
    public var since: String
    public var agreementID: Int64
    public init(level: String, since: String, agreementID: Int64 = 0) {
        self.level = level
        self.since = since
        self.agreementID = agreementID
    }
}

public struct Relationship: Codable, Hashable, Sendable {
    public var countryA: String
    public var countryB: String
    public var established: String
    /// Oldest first; the last entry is the current level.
    public var history: [RelationshipLevel]
    public init(countryA: String, countryB: String, established: String, history: [RelationshipLevel] = []) {
        self.countryA = countryA
        self.countryB = countryB
        self.established = established
        self.history = history
    }
}

public enum SourceKind: String, Codable, Hashable, Sendable, CaseIterable {
    case unspecified, officialRelease = "official_release", officialText = "official_text", news, repost, blog,
        officialReleaseReproduced = "official_release_reproduced"
}

public struct Source: Codable, Hashable, Sendable {
    public var id: Int64 = 0
    public var title: String
    public var publisher: String
    public var originalPublisher: String = ""
    public var url: String = ""
    public var published: String = ""
    public var kind: SourceKind = .unspecified
    public var language: String = ""
    public var note: String = ""
    public init(
        id: Int64 = 0, title: String, publisher: String, originalPublisher: String = "", url: String = "",
        published: String = "", kind: SourceKind = .unspecified, language: String = "", note: String = ""
    ) {
        self.id = id
        self.title = title
        self.publisher = publisher
        self.originalPublisher = originalPublisher
        self.url = url
        self.published = published
        self.kind = kind
        self.language = language
        self.note = note
    }
}

public enum Measure: String, Codable, Hashable, Sendable, CaseIterable {
    case unspecified, stock, flow, target, claim, amount
}

public enum PeriodBasis: String, Codable, Hashable, Sendable, CaseIterable {
    case unspecified, asOfDate = "as_of_date", calendarYear = "calendar_year",
        japaneseFiscalYear = "japanese_fiscal_year", halfYear = "half_year", month, yearToDate = "year_to_date", other
}

public struct Indicator: Codable, Hashable, Sendable {
    public var code: String
    public var name: String
    public var compiler: String = ""
    public var measure: Measure = .unspecified
    public var unit: String = ""
    public var periodBasis: PeriodBasis = .unspecified
    public var breakdownDimensions: [String] = []
    public var description: String = ""
    public init(
        code: String, name: String, compiler: String = "", measure: Measure = .unspecified, unit: String = "",
        periodBasis: PeriodBasis = .unspecified, breakdownDimensions: [String] = [], description: String = ""
    ) {
        self.code = code
        self.name = name
        self.compiler = compiler
        self.measure = measure
        self.unit = unit
        self.periodBasis = periodBasis
        self.breakdownDimensions = breakdownDimensions
        self.description = description
    }
}

public struct Dimension: Codable, Hashable, Sendable, Comparable {
    public var key: String
    public var value: String
    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
    public static func < (a: Dimension, b: Dimension) -> Bool { (a.key, a.value) < (b.key, b.value) }
}

public enum Qualifier: String, Codable, Hashable, Sendable, CaseIterable {
    case unspecified, exact, approx, atLeast = "at_least", atMost = "at_most", derived, asWorded = "as_worded"
}

public enum ObservationStatus: String, Codable, Hashable, Sendable, CaseIterable {
    case unspecified, normal, provisional, estimated, revised, lowReliability = "low_reliability"
}

/// One published value. Revisions are new observations that supersede older ones.
public struct Observation: Codable, Hashable, Sendable {
    public var id: Int64 = 0
    public var indicator: String
    public var origin: String
    public var destination: String
    /// Sorted by key; empty = total.
    public var breakdown: [Dimension] = []
    public var periodStart: String
    public var periodEnd: String
    /// value × 10^unitMultiplier units; a range when valueHigh > value.
    public var value: Int64
    public var valueHigh: Int64 = 0
    public var unitMultiplier: Int32 = 0
    public var unit: String = ""
    public var qualifier: Qualifier = .exact
    public var status: ObservationStatus = .normal
    public var sourceID: Int64 = 0
    public var locator: String = ""
    /// When this value was published.
    public var vintage: String = ""
    public var supersedesID: Int64 = 0
    public var supersededByID: Int64 = 0
    public var conflictsWith: [Int64] = []
    public var note: String = ""
    public var retracted: Bool = false
    public var retractionReason: String = ""
    public var recordedSequence: Int64 = 0

    public init(
        id: Int64 = 0, indicator: String, origin: String, destination: String, breakdown: [Dimension] = [],
        periodStart: String, periodEnd: String, value: Int64, valueHigh: Int64 = 0, unitMultiplier: Int32 = 0,
        unit: String = "", qualifier: Qualifier = .exact, status: ObservationStatus = .normal, sourceID: Int64 = 0,
        locator: String = "", vintage: String = "", supersedesID: Int64 = 0, note: String = ""
    ) {
        self.id = id
        self.indicator = indicator
        self.origin = origin
        self.destination = destination
        self.breakdown = breakdown
        self.periodStart = periodStart
        self.periodEnd = periodEnd
        self.value = value
        self.valueHigh = valueHigh
        self.unitMultiplier = unitMultiplier
        self.unit = unit
        self.qualifier = qualifier
        self.status = status
        self.sourceID = sourceID
        self.locator = locator
        self.vintage = vintage
        self.supersedesID = supersedesID
        self.note = note
    }
}

public struct Participant: Codable, Hashable, Sendable {
    public var name: String
    public var nativeName: String = ""
    public var title: String = ""
    public var organisation: String = ""
    public var country: String = ""
    public init(name: String, nativeName: String = "", title: String = "", organisation: String = "", country: String = "") {
        self.name = name
        self.nativeName = nativeName
        self.title = title
        self.organisation = organisation
        self.country = country
    }
}

public enum EventKind: String, Codable, Hashable, Sendable, CaseIterable {
    case unspecified, meeting, visit, conference, signing, anniversary, forum, milestone
}

public enum EventStatus: String, Codable, Hashable, Sendable, CaseIterable {
    case unspecified, announced, held, postponed, cancelled
}

public struct Event: Codable, Hashable, Sendable {
    public var id: Int64 = 0
    public var kind: EventKind
    public var title: String
    public var countries: [String]
    public var plannedDate: String = ""
    public var actualDate: String = ""
    public var status: EventStatus
    public var place: String = ""
    public var participants: [Participant] = []
    public var summary: String = ""
    public var sourceIDs: [Int64] = []
    public var relatedEventIDs: [Int64] = []
    public init(
        id: Int64 = 0, kind: EventKind, title: String, countries: [String], plannedDate: String = "",
        actualDate: String = "", status: EventStatus, place: String = "", participants: [Participant] = [],
        summary: String = "", sourceIDs: [Int64] = [], relatedEventIDs: [Int64] = []
    ) {
        self.id = id
        self.kind = kind
        self.title = title
        self.countries = countries
        self.plannedDate = plannedDate
        self.actualDate = actualDate
        self.status = status
        self.place = place
        self.participants = participants
        self.summary = summary
        self.sourceIDs = sourceIDs
        self.relatedEventIDs = relatedEventIDs
    }
}

public enum AgreementKind: String, Codable, Hashable, Sendable, CaseIterable {
    case unspecified, memorandum, treaty, jointStatement = "joint_statement", partnership
}

public struct Party: Codable, Hashable, Sendable {
    public var name: String
    public var country: String
    public var subnational: Bool = false
    public init(name: String, country: String, subnational: Bool = false) {
        self.name = name
        self.country = country
        self.subnational = subnational
    }
}

public struct Agreement: Codable, Hashable, Sendable {
    public var id: Int64 = 0
    public var kind: AgreementKind
    public var title: String
    public var parties: [Party]
    public var signedDate: String = ""
    public var effectiveDate: String = ""
    public var place: String = ""
    public var topics: [String] = []
    public var textURL: String = ""
    public var sourceIDs: [Int64] = []
    public var eventID: Int64 = 0
    public var summary: String = ""
    public init(
        id: Int64 = 0, kind: AgreementKind, title: String, parties: [Party], signedDate: String = "",
        effectiveDate: String = "", place: String = "", topics: [String] = [], textURL: String = "",
        sourceIDs: [Int64] = [], eventID: Int64 = 0, summary: String = ""
    ) {
        self.id = id
        self.kind = kind
        self.title = title
        self.parties = parties
        self.signedDate = signedDate
        self.effectiveDate = effectiveDate
        self.place = place
        self.topics = topics
        self.textURL = textURL
        self.sourceIDs = sourceIDs
        self.eventID = eventID
        self.summary = summary
    }
}

/// What a person said: a paraphrase, the figure it states, and the statistics it conflicts with.
public struct Statement: Codable, Hashable, Sendable {
    public var id: Int64 = 0
    public var speaker: Participant
    public var eventID: Int64 = 0
    public var saidOn: String
    public var text: String
    public var claimObservationID: Int64 = 0
    public var sourceID: Int64 = 0
    public var conflictsWith: [Int64] = []
    public var note: String = ""
    public init(
        id: Int64 = 0, speaker: Participant, eventID: Int64 = 0, saidOn: String, text: String,
        claimObservationID: Int64 = 0, sourceID: Int64 = 0, conflictsWith: [Int64] = [], note: String = ""
    ) {
        self.id = id
        self.speaker = speaker
        self.eventID = eventID
        self.saidOn = saidOn
        self.text = text
        self.claimObservationID = claimObservationID
        self.sourceID = sourceID
        self.conflictsWith = conflictsWith
        self.note = note
    }
}

public enum ChangeOperation: String, Codable, Hashable, Sendable {
    case insert, revise, retract, link, update
}

/// The entity as it stood after a change.
public enum ChangedEntity: Codable, Hashable, Sendable {
    case observation(Observation)
    case event(Event)
    case agreement(Agreement)
    case statement(Statement)
    case source(Source)
    case indicator(Indicator)
}

/// One entry of the append-only change log.
public struct Change: Codable, Hashable, Sendable {
    public var sequence: Int64
    /// RFC 3339 UTC.
    public var time: String
    public var entityKind: String
    public var entityID: Int64
    public var entityKey: String
    public var operation: ChangeOperation
    public var writerUID: UInt32
    public var summary: String
    public var entity: ChangedEntity?
    public init(
        sequence: Int64, time: String, entityKind: String, entityID: Int64, entityKey: String,
        operation: ChangeOperation, writerUID: UInt32, summary: String, entity: ChangedEntity?
    ) {
        self.sequence = sequence
        self.time = time
        self.entityKind = entityKind
        self.entityID = entityID
        self.entityKey = entityKey
        self.operation = operation
        self.writerUID = writerUID
        self.summary = summary
        self.entity = entity
    }
}

public struct SearchHit: Codable, Hashable, Sendable {
    public var entityKind: String
    public var entityID: Int64
    public var title: String
    public var snippet: String
    /// Names in their own script where they differ from the romanised ones (a statement's speaker, an event's
    /// participants).
    public var nativeNames: [String]
    public init(entityKind: String, entityID: Int64, title: String, snippet: String, nativeNames: [String] = []) {
        self.entityKind = entityKind
        self.entityID = entityID
        self.title = title
        self.snippet = snippet
        self.nativeNames = nativeNames
    }
}
