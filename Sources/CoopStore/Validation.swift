internal import CoopFormats
import Foundation

/// What validation needs to know about stored data. Each backend answers from inside its write
/// transaction, so a reference checked here still exists when the write commits.
public protocol ValidationReferences {
    func indicator(_ code: String) throws -> Indicator?
    func sourceExists(_ id: Int64) throws -> Bool
    func eventExists(_ id: Int64) throws -> Bool
    func observationExists(_ id: Int64) throws -> Bool
    func agreementExists(_ id: Int64) throws -> Bool
}

/// Field-by-field validation of write requests, shared by every backend.
///
/// Each check throws `StoreError.invalid(field, message)` for the first problem it finds, naming the field as
/// the proto does (snake_case, with indexes: "observations[3].period_start"). Callers pass the path of the value
/// being checked ("observations[3]", "revision", "event").
public enum Validation {
    public static let maximumRequestIDLength = 128
    public static let maximumUnitMultiplier: Int32 = 15
    public static let maximumBatchSize = 1000
    static let maximumTextLength = 100_000

    // MARK: Scalars

    public static func requestID(_ id: String) throws {
        if id.isEmpty {
            throw StoreError.invalid("request_id", "is required")
        }
        if id.utf8.count > maximumRequestIDLength {
            throw StoreError.invalid("request_id", "must be at most \(maximumRequestIDLength) bytes")
        }
    }

    // Field names are autoclosures: building "observations[12].origin" for every field of every valid
    // observation was a visible part of a write.

    /// An ISO 3166-1 alpha-2 code from the built-in table, or "_T" (all partners) when allowed.
    public static func country(_ code: String, field: @autoclosure () -> String, allowAllPartners: Bool = true) throws {
        if code.isEmpty {
            throw StoreError.invalid(field(), "is required")
        }
        if code == ISO3166.allPartners {
            if allowAllPartners { return }
            throw StoreError.invalid(field(), "\"_T\" (all partners) is not allowed here")
        }
        guard ISO3166.isAssigned(code) else {
            throw StoreError.invalid(field(), "unknown country code \(quoted(code))")
        }
    }

    /// A full or partial ISO date ("2022-06-29", "2022-06", "2022") that exists in the calendar; empty is
    /// accepted unless `required`.
    public static func date(_ value: String, field: @autoclosure () -> String, required: Bool = false) throws {
        if value.isEmpty {
            if required { throw StoreError.invalid(field(), "is required") }
            return
        }
        guard PartialDate(value) != nil else {
            throw StoreError.invalid(
                field(), "\(quoted(value)) is not a calendar date (YYYY, YYYY-MM or YYYY-MM-DD)")
        }
    }

    /// A range whose start falls after its end matches nothing: that is a mistake to report, not an empty answer.
    /// Each bound is a valid partial date or empty (open).
    public static func range(_ from: String, _ to: String, fromField: String, toField: String) throws {
        guard !from.isEmpty, !to.isEmpty, PartialDate.firstDay(of: from) > PartialDate.lastDay(of: to) else { return }
        throw StoreError.invalid(fromField, "\(quoted(from)) is after \(toField) \(quoted(to))")
    }

    public static func required(_ value: String, field: @autoclosure () -> String) throws {
        if value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw StoreError.invalid(field(), "is required")
        }
        try text(value, field: field())
    }

    package static func text(_ value: String, field: @autoclosure () -> String) throws {
        if value.utf8.count > maximumTextLength {
            throw StoreError.invalid(field(), "is longer than \(maximumTextLength) bytes")
        }
    }

    package static func id(_ id: Int64, field: @autoclosure () -> String) throws {
        if id < 0 {
            throw StoreError.invalid(field(), "must not be negative")
        }
    }

    // MARK: Entities

    public static func source(_ source: Source, field: String) throws {
        try id(source.id, field: "\(field).id")
        try required(source.title, field: "\(field).title")
        try required(source.publisher, field: "\(field).publisher")
        try text(source.originalPublisher, field: "\(field).original_publisher")
        try text(source.url, field: "\(field).url")
        try date(source.published, field: "\(field).published")
        try text(source.note, field: "\(field).note")
        if source.language.utf8.count > 35 {
            throw StoreError.invalid("\(field).language", "must be a BCP 47 tag")
        }
    }

    public static func indicator(_ indicator: Indicator, field: String) throws {
        let code = indicator.code
        if code.isEmpty {
            throw StoreError.invalid("\(field).code", "is required")
        }
        let allowed = code.utf8.allSatisfy { ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
        guard allowed, code.utf8.count <= 64, code.utf8.first.map({ $0 >= 0x41 && $0 <= 0x5A }) == true else {
            throw StoreError.invalid(
                "\(field).code", "\(quoted(code)) must be upper-case letters, digits and '_' (at most 64), starting with a letter")
        }
        try required(indicator.name, field: "\(field).name")
        if indicator.measure == .unspecified {
            throw StoreError.invalid("\(field).measure", "is required (stock, flow, target, claim or amount)")
        }
        var seen = Set<String>()
        for (index, dimension) in indicator.breakdownDimensions.enumerated() {
            try required(dimension, field: "\(field).breakdown_dimensions[\(index)]")
            if !seen.insert(dimension).inserted {
                throw StoreError.invalid("\(field).breakdown_dimensions[\(index)]", "duplicate dimension \(quoted(dimension))")
            }
        }
        try text(indicator.description, field: "\(field).description")
    }

    /// A new observation (id 0), or a revision once its defaults are filled in.
    public static func observation(
        _ observation: Observation, field: String, references: some ValidationReferences
    ) throws {
        let o = observation
        if o.id != 0 {
            throw StoreError.invalid("\(field).id", "must be 0: ids are assigned by the store")
        }
        if o.indicator.isEmpty {
            throw StoreError.invalid("\(field).indicator", "is required")
        }
        guard let indicator = try references.indicator(o.indicator) else {
            throw StoreError.invalid("\(field).indicator", "unknown indicator \(quoted(o.indicator))")
        }
        try country(o.origin, field: "\(field).origin")
        try country(o.destination, field: "\(field).destination")
        var keys = Set<String>()
        for (index, dimension) in o.breakdown.enumerated() {
            try required(dimension.key, field: "\(field).breakdown[\(index)].key")
            try required(dimension.value, field: "\(field).breakdown[\(index)].value")
            if !keys.insert(dimension.key).inserted {
                throw StoreError.invalid("\(field).breakdown[\(index)].key", "duplicate dimension \(quoted(dimension.key))")
            }
            if !indicator.breakdownDimensions.contains(dimension.key) {
                let allowed = indicator.breakdownDimensions.isEmpty
                    ? "none" : indicator.breakdownDimensions.joined(separator: ", ")
                throw StoreError.invalid(
                    "\(field).breakdown[\(index)].key",
                    "indicator \(o.indicator) has no dimension \(quoted(dimension.key)) (allowed: \(allowed))")
            }
        }
        try date(o.periodStart, field: "\(field).period_start", required: true)
        try date(o.periodEnd, field: "\(field).period_end", required: true)
        if PartialDate.firstDay(of: o.periodStart) > PartialDate.lastDay(of: o.periodEnd) {
            throw StoreError.invalid(
                "\(field).period_start", "period starts (\(o.periodStart)) after it ends (\(o.periodEnd))")
        }
        if o.value < 0 {
            throw StoreError.invalid("\(field).value", "must not be negative")
        }
        if o.valueHigh != 0 && o.valueHigh < o.value {
            throw StoreError.invalid("\(field).value_high", "must be at least value (\(o.value)) when set")
        }
        if !(0...maximumUnitMultiplier).contains(o.unitMultiplier) {
            throw StoreError.invalid("\(field).unit_multiplier", "must be between 0 and \(maximumUnitMultiplier)")
        }
        if !o.unit.isEmpty && !indicator.unit.isEmpty && o.unit != indicator.unit {
            throw StoreError.invalid(
                "\(field).unit", "indicator \(o.indicator) is measured in \(quoted(indicator.unit)), not \(quoted(o.unit))")
        }
        if o.sourceID == 0 {
            throw StoreError.invalid("\(field).source_id", "is required: every figure names its source")
        }
        try id(o.sourceID, field: "\(field).source_id")
        guard try references.sourceExists(o.sourceID) else {
            throw StoreError.invalid("\(field).source_id", "unknown source \(o.sourceID)")
        }
        try date(o.vintage, field: "\(field).vintage")
        try text(o.locator, field: "\(field).locator")
        try text(o.note, field: "\(field).note")
    }

    /// A batch: every observation is checked, and the first problem names its index.
    public static func observations(
        _ observations: [Observation], field: String = "observations", references: some ValidationReferences
    ) throws {
        if observations.isEmpty {
            throw StoreError.invalid(field, "at least one observation is required")
        }
        if observations.count > maximumBatchSize {
            throw StoreError.invalid(field, "at most \(maximumBatchSize) observations per request")
        }
        for (index, observation) in observations.enumerated() {
            if observation.supersedesID != 0 {
                throw StoreError.invalid(
                    "\(field)[\(index)].supersedes_id", "must be 0: revisions are stored with ReviseObservation")
            }
            try self.observation(observation, field: "\(field)[\(index)]", references: references)
        }
    }

    public static func participant(_ participant: Participant, field: String) throws {
        try required(participant.name, field: "\(field).name")
        try text(participant.nativeName, field: "\(field).native_name")
        try text(participant.title, field: "\(field).title")
        try text(participant.organisation, field: "\(field).organisation")
        if !participant.country.isEmpty {
            try country(participant.country, field: "\(field).country", allowAllPartners: false)
        }
    }

    public static func event(_ event: Event, field: String, references: some ValidationReferences) throws {
        try id(event.id, field: "\(field).id")
        if event.kind == .unspecified {
            throw StoreError.invalid("\(field).kind", "is required")
        }
        if event.status == .unspecified {
            throw StoreError.invalid("\(field).status", "is required")
        }
        try required(event.title, field: "\(field).title")
        if event.countries.isEmpty {
            throw StoreError.invalid("\(field).countries", "at least one country is required")
        }
        for (index, code) in event.countries.enumerated() {
            try country(code, field: "\(field).countries[\(index)]", allowAllPartners: false)
        }
        try date(event.plannedDate, field: "\(field).planned_date")
        try date(event.actualDate, field: "\(field).actual_date")
        if event.plannedDate.isEmpty && event.actualDate.isEmpty {
            throw StoreError.invalid("\(field).planned_date", "planned_date or actual_date is required")
        }
        if event.status == .held && event.actualDate.isEmpty {
            throw StoreError.invalid("\(field).actual_date", "is required for a held event")
        }
        try text(event.place, field: "\(field).place")
        try text(event.summary, field: "\(field).summary")
        for (index, participant) in event.participants.enumerated() {
            try self.participant(participant, field: "\(field).participants[\(index)]")
        }
        try sourceIDs(event.sourceIDs, field: "\(field).source_ids", references: references)
        for (index, related) in event.relatedEventIDs.enumerated() {
            let path = "\(field).related_event_ids[\(index)]"
            if related == event.id && related != 0 {
                throw StoreError.invalid(path, "an event cannot be related to itself")
            }
            guard related > 0, try references.eventExists(related) else {
                throw StoreError.invalid(path, "unknown event \(related)")
            }
        }
    }

    public static func agreement(_ agreement: Agreement, field: String, references: some ValidationReferences) throws {
        try id(agreement.id, field: "\(field).id")
        if agreement.kind == .unspecified {
            throw StoreError.invalid("\(field).kind", "is required")
        }
        try required(agreement.title, field: "\(field).title")
        if agreement.parties.isEmpty {
            throw StoreError.invalid("\(field).parties", "at least one party is required")
        }
        for (index, party) in agreement.parties.enumerated() {
            try required(party.name, field: "\(field).parties[\(index)].name")
            if !party.country.isEmpty {
                try country(party.country, field: "\(field).parties[\(index)].country", allowAllPartners: false)
            }
        }
        try date(agreement.signedDate, field: "\(field).signed_date")
        try date(agreement.effectiveDate, field: "\(field).effective_date")
        try text(agreement.place, field: "\(field).place")
        for (index, topic) in agreement.topics.enumerated() {
            try required(topic, field: "\(field).topics[\(index)]")
        }
        try text(agreement.textURL, field: "\(field).text_url")
        try text(agreement.summary, field: "\(field).summary")
        try sourceIDs(agreement.sourceIDs, field: "\(field).source_ids", references: references)
        if agreement.eventID != 0 {
            guard agreement.eventID > 0, try references.eventExists(agreement.eventID) else {
                throw StoreError.invalid("\(field).event_id", "unknown event \(agreement.eventID)")
            }
        }
    }

    public static func statement(_ statement: Statement, field: String, references: some ValidationReferences) throws {
        if statement.id != 0 {
            throw StoreError.invalid("\(field).id", "must be 0: statements are added, not replaced")
        }
        try participant(statement.speaker, field: "\(field).speaker")
        try date(statement.saidOn, field: "\(field).said_on", required: true)
        try required(statement.text, field: "\(field).text")
        try text(statement.note, field: "\(field).note")
        if statement.eventID != 0 {
            guard statement.eventID > 0, try references.eventExists(statement.eventID) else {
                throw StoreError.invalid("\(field).event_id", "unknown event \(statement.eventID)")
            }
        }
        if statement.sourceID == 0 {
            throw StoreError.invalid("\(field).source_id", "is required: every statement names its source")
        }
        guard statement.sourceID > 0, try references.sourceExists(statement.sourceID) else {
            throw StoreError.invalid("\(field).source_id", "unknown source \(statement.sourceID)")
        }
        if statement.claimObservationID != 0 {
            guard statement.claimObservationID > 0, try references.observationExists(statement.claimObservationID)
            else {
                throw StoreError.invalid(
                    "\(field).claim_observation_id", "unknown observation \(statement.claimObservationID)")
            }
        }
        for (index, id) in statement.conflictsWith.enumerated() {
            let path = "\(field).conflicts_with[\(index)]"
            guard id > 0, try references.observationExists(id) else {
                throw StoreError.invalid(path, "unknown observation \(id)")
            }
            if id == statement.claimObservationID {
                throw StoreError.invalid(path, "the claim cannot conflict with itself")
            }
        }
    }

    /// A relationship between two distinct countries, with its levels oldest first.
    public static func relationship(
        _ relationship: Relationship, field: String, references: some ValidationReferences
    ) throws {
        try country(relationship.countryA, field: "\(field).country_a", allowAllPartners: false)
        try country(relationship.countryB, field: "\(field).country_b", allowAllPartners: false)
        if relationship.countryA == relationship.countryB {
            throw StoreError.invalid("\(field).country_b", "must differ from country_a")
        }
        try date(relationship.established, field: "\(field).established")
        var previous = ""
        for (index, level) in relationship.history.enumerated() {
            let path = "\(field).history[\(index)]"
            try required(level.level, field: "\(path).level")
            try date(level.since, field: "\(path).since", required: true)
            let since = PartialDate.firstDay(of: level.since)
            if since < previous {
                throw StoreError.invalid("\(path).since", "history must be ordered oldest first")
            }
            previous = since
            if level.agreementID != 0 {
                guard level.agreementID > 0, try references.agreementExists(level.agreementID) else {
                    throw StoreError.invalid("\(path).agreement_id", "unknown agreement \(level.agreementID)")
                }
            }
        }
    }

    // MARK: Queries

    /// Optional filters of a read request: empty is "any".
    package static func filterCountry(_ code: String, field: String) throws {
        if !code.isEmpty { try country(code, field: field) }
    }

    private static func sourceIDs(_ ids: [Int64], field: String, references: some ValidationReferences) throws {
        for (index, id) in ids.enumerated() {
            guard id > 0, try references.sourceExists(id) else {
                throw StoreError.invalid("\(field)[\(index)]", "unknown source \(id)")
            }
        }
    }

    static func quoted(_ text: String) -> String {
        let shown = text.count > 64 ? String(text.prefix(64)) + "…" : text
        return "\"" + shown + "\""
    }
}
