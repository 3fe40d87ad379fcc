import CoopProto
import CoopStore
import CoopWire
import SwiftProtobuf

// Conversions between the wire messages (coop.v1) and the store's model. Proto enums and the
// model's enums list the same cases in the same order (UNSPECIFIED first), so they map by position.

package func modelEnum<Model: CaseIterable & Equatable, Proto: SwiftProtobuf.Enum>(
    _ value: Proto, field: String
) throws -> Model where Model.AllCases.Index == Int {
    let all = Model.allCases
    guard value.rawValue >= 0, value.rawValue < all.count else {
        throw RPCError(.invalidArgument, "\(field): unknown value \(value.rawValue)")
    }
    return all[all.startIndex + value.rawValue]
}

func protoEnum<Proto: SwiftProtobuf.Enum, Model: CaseIterable & Equatable>(_ value: Model) -> Proto
where Model.AllCases.Index == Int {
    Proto(rawValue: Model.allCases.firstIndex(of: value)!) ?? Proto()
}

extension Coop_V1_Country {
    init(_ m: Country) {
        self.init()
        code = m.code
        name = m.name
        otherNames = m.otherNames
    }
}

extension Coop_V1_Relationship {
    init(_ m: Relationship) {
        self.init()
        countryA = m.countryA
        countryB = m.countryB
        established = m.established
        if let current = m.history.last {
            level = current.level
            levelSince = current.since
        }
        history = m.history.map { h in
            .with {
                $0.level = h.level
                $0.since = h.since
                $0.agreementID = h.agreementID
            }
        }
    }

    /// `level` and `level_since` are read from the last entry of `history`, never stored apart from it.
    package var model: Relationship {
        Relationship(
            countryA: countryA, countryB: countryB, established: established,
            history: history.map { RelationshipLevel(level: $0.level, since: $0.since, agreementID: $0.agreementID) })
    }
}

extension Coop_V1_Source {
    init(_ m: Source) {
        self.init()
        id = m.id
        title = m.title
        publisher = m.publisher
        originalPublisher = m.originalPublisher
        url = m.url
        published = m.published
        kind = protoEnum(m.kind)
        language = m.language
        note = m.note
    }

    package func model(field: String) throws -> Source {
        Source(
            id: id, title: title, publisher: publisher, originalPublisher: originalPublisher, url: url,
            published: published, kind: try modelEnum(kind, field: "\(field).kind"), language: language, note: note)
    }
}

extension Coop_V1_Indicator {
    init(_ m: Indicator) {
        self.init()
        code = m.code
        name = m.name
        compiler = m.compiler
        measure = protoEnum(m.measure)
        unit = m.unit
        periodBasis = protoEnum(m.periodBasis)
        breakdownDimensions = m.breakdownDimensions
        description_p = m.description
    }

    package func model(field: String) throws -> Indicator {
        Indicator(
            code: code, name: name, compiler: compiler, measure: try modelEnum(measure, field: "\(field).measure"),
            unit: unit, periodBasis: try modelEnum(periodBasis, field: "\(field).period_basis"),
            breakdownDimensions: breakdownDimensions, description: description_p)
    }
}

extension Coop_V1_Observation {
    package init(_ m: Observation) {
        self.init()
        id = m.id
        indicator = m.indicator
        origin = m.origin
        destination = m.destination
        breakdown = m.breakdown.map { d in .with { $0.key = d.key; $0.value = d.value } }
        periodStart = m.periodStart
        periodEnd = m.periodEnd
        value = m.value
        valueHigh = m.valueHigh
        unitMultiplier = m.unitMultiplier
        unit = m.unit
        qualifier = protoEnum(m.qualifier)
        status = protoEnum(m.status)
        sourceID = m.sourceID
        locator = m.locator
        vintage = m.vintage
        supersedesID = m.supersedesID
        supersededByID = m.supersededByID
        conflictsWith = m.conflictsWith
        note = m.note
        retracted = m.retracted
        retractionReason = m.retractionReason
        recordedSequence = m.recordedSequence
    }

    /// The writable part of an observation; server-kept fields (links, retraction, sequence) are ignored.
    package func model(field: String) throws -> Observation {
        var m = Observation(
            id: id, indicator: indicator, origin: origin, destination: destination,
            breakdown: breakdown.map { Dimension(key: $0.key, value: $0.value) }.sorted(),
            periodStart: periodStart, periodEnd: periodEnd, value: value, valueHigh: valueHigh,
            unitMultiplier: unitMultiplier, unit: unit, qualifier: try modelEnum(qualifier, field: "\(field).qualifier"),
            status: try modelEnum(status, field: "\(field).status"), sourceID: sourceID, locator: locator,
            vintage: vintage, supersedesID: supersedesID, note: note)
        if m.qualifier == .unspecified { m.qualifier = .exact }
        if m.status == .unspecified { m.status = .normal }
        return m
    }
}

extension Coop_V1_Participant {
    init(_ m: Participant) {
        self.init()
        name = m.name
        nativeName = m.nativeName
        title = m.title
        organisation = m.organisation
        country = m.country
    }

    package var model: Participant {
        Participant(name: name, nativeName: nativeName, title: title, organisation: organisation, country: country)
    }
}

extension Coop_V1_Event {
    init(_ m: Event) {
        self.init()
        id = m.id
        kind = protoEnum(m.kind)
        title = m.title
        countries = m.countries
        plannedDate = m.plannedDate
        actualDate = m.actualDate
        status = protoEnum(m.status)
        place = m.place
        participants = m.participants.map(Coop_V1_Participant.init)
        summary = m.summary
        sourceIds = m.sourceIDs
        relatedEventIds = m.relatedEventIDs
    }

    package func model(field: String) throws -> Event {
        Event(
            id: id, kind: try modelEnum(kind, field: "\(field).kind"), title: title, countries: countries,
            plannedDate: plannedDate, actualDate: actualDate, status: try modelEnum(status, field: "\(field).status"),
            place: place, participants: participants.map(\.model), summary: summary, sourceIDs: sourceIds,
            relatedEventIDs: relatedEventIds)
    }
}

extension Coop_V1_Agreement {
    init(_ m: Agreement) {
        self.init()
        id = m.id
        kind = protoEnum(m.kind)
        title = m.title
        parties = m.parties.map { p in
            .with {
                $0.name = p.name
                $0.country = p.country
                $0.subnational = p.subnational
            }
        }
        signedDate = m.signedDate
        effectiveDate = m.effectiveDate
        place = m.place
        topics = m.topics
        textURL = m.textURL
        sourceIds = m.sourceIDs
        eventID = m.eventID
        summary = m.summary
    }

    package func model(field: String) throws -> Agreement {
        Agreement(
            id: id, kind: try modelEnum(kind, field: "\(field).kind"), title: title,
            parties: parties.map { Party(name: $0.name, country: $0.country, subnational: $0.subnational) },
            signedDate: signedDate, effectiveDate: effectiveDate, place: place, topics: topics, textURL: textURL,
            sourceIDs: sourceIds, eventID: eventID, summary: summary)
    }
}

extension Coop_V1_Statement {
    init(_ m: Statement) {
        self.init()
        id = m.id
        speaker = Coop_V1_Participant(m.speaker)
        eventID = m.eventID
        saidOn = m.saidOn
        text = m.text
        claimObservationID = m.claimObservationID
        sourceID = m.sourceID
        conflictsWith = m.conflictsWith
        note = m.note
    }

    package var model: Statement {
        Statement(
            id: id, speaker: speaker.model, eventID: eventID, saidOn: saidOn, text: text,
            claimObservationID: claimObservationID, sourceID: sourceID, conflictsWith: conflictsWith, note: note)
    }
}

extension Coop_V1_Change {
    init(_ m: Change) {
        self.init()
        sequence = m.sequence
        time = m.time
        entityKind = m.entityKind
        entityID = m.entityID
        entityKey = m.entityKey
        operation =
            switch m.operation {
            case .insert: .insert
            case .revise: .revise
            case .retract: .retract
            case .link: .link
            case .update: .update
            }
        writerUid = m.writerUID
        summary = m.summary
        switch m.entity {
        case .observation(let o): observation = Coop_V1_Observation(o)
        case .event(let e): event = Coop_V1_Event(e)
        case .agreement(let a): agreement = Coop_V1_Agreement(a)
        case .statement(let s): statement = Coop_V1_Statement(s)
        case .source(let s): source = Coop_V1_Source(s)
        case .indicator(let i): indicatorEntity = Coop_V1_Indicator(i)
        case nil: break
        }
    }
}

extension Coop_V1_SearchHit {
    init(_ m: SearchHit) {
        self.init()
        entityKind = m.entityKind
        entityID = m.entityID
        title = m.title
        snippet = m.snippet
        nativeNames = m.nativeNames
    }
}

extension PageRequest {
    package init(size: Int32, token: String) throws {
        guard size >= 0 else { throw RPCError(.invalidArgument, "page_size: must not be negative") }
        self.init(size: Int(size), token: token)
    }
}
