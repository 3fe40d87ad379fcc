import CoopProto
import Foundation
import SwiftProtobuf

/// The typed `coop.v1.Cooperation` API. Request and response types are the generated `Coop_V1_*` messages.
///
/// Writes take a `requestID`; pass the same one when retrying a write whose outcome is unknown
/// (the server applies it once). Left empty, a fresh random id is used.
extension CoopClient {
    typealias Methods = Coop_V1_CooperationMethods

    /// Calls any unary method by its generated type, e.g. `call(Coop_V1_CooperationMethods.ListSources.self,
    /// request)`: its path and message types come from the .proto, so a call cannot misname or mistype one.
    public func call<M: ProtoMethod>(
        _ method: M.Type, _ request: M.Request, options: CallOptions = .defaults
    ) async throws -> M.Response {
        try await unary(service: M.service, method: M.name, request: request, as: M.Response.self, options: options)
    }

    private func coop<M: ProtoMethod>(_ method: M.Type, _ request: M.Request, _ options: CallOptions) async throws
        -> M.Response
    {
        try await call(method, request, options: options)
    }

    /// A fresh request id for a write.
    public static func newRequestID() -> String { UUID().uuidString.lowercased() }

    // MARK: reads

    public func listCountries(options: CallOptions = .defaults) async throws -> [Coop_V1_Country] {
        let reply: Coop_V1_ListCountriesResponse = try await coop(Methods.ListCountries.self, Coop_V1_ListCountriesRequest(), options)
        return reply.countries
    }

    /// Latest figures are statistics only unless `includeClaims`; a claim's entry carries its statement.
    public func pairSummary(
        _ a: String, _ b: String, includeClaims: Bool = false, options: CallOptions = .defaults
    ) async throws -> Coop_V1_PairSummary {
        try await coop(Methods.GetPairSummary.self, Coop_V1_GetPairSummaryRequest.with {
            $0.countryA = a
            $0.countryB = b
            $0.includeClaims = includeClaims
        }, options)
    }

    public func listIndicators(options: CallOptions = .defaults) async throws -> [Coop_V1_Indicator] {
        let reply: Coop_V1_ListIndicatorsResponse = try await coop(Methods.ListIndicators.self, Coop_V1_ListIndicatorsRequest(), options)
        return reply.indicators
    }

    /// One page of observations; pass `nextPageToken` back in `request.pageToken` for the next.
    public func listObservations(
        _ request: Coop_V1_ListObservationsRequest, options: CallOptions = .defaults
    ) async throws -> Coop_V1_ListObservationsResponse {
        try await coop(Methods.ListObservations.self, request, options)
    }

    /// Every observation matching `request`, following page tokens.
    public func allObservations(
        _ request: Coop_V1_ListObservationsRequest, options: CallOptions = .defaults
    ) async throws -> [Coop_V1_Observation] {
        var request = request
        var all: [Coop_V1_Observation] = []
        while true {
            let page = try await listObservations(request, options: options)
            all += page.observations
            if page.nextPageToken.isEmpty { return all }
            request.pageToken = page.nextPageToken
        }
    }

    public func series(_ request: Coop_V1_GetSeriesRequest, options: CallOptions = .defaults) async throws -> Coop_V1_Series {
        try await coop(Methods.GetSeries.self, request, options)
    }

    public func listEvents(
        _ request: Coop_V1_ListEventsRequest = .init(), options: CallOptions = .defaults
    ) async throws -> Coop_V1_ListEventsResponse {
        try await coop(Methods.ListEvents.self, request, options)
    }

    public func listAgreements(
        _ request: Coop_V1_ListAgreementsRequest = .init(), options: CallOptions = .defaults
    ) async throws -> Coop_V1_ListAgreementsResponse {
        try await coop(Methods.ListAgreements.self, request, options)
    }

    public func listStatements(
        _ request: Coop_V1_ListStatementsRequest = .init(), options: CallOptions = .defaults
    ) async throws -> Coop_V1_ListStatementsResponse {
        try await coop(Methods.ListStatements.self, request, options)
    }

    public func listSources(
        _ request: Coop_V1_ListSourcesRequest = .init(), options: CallOptions = .defaults
    ) async throws -> Coop_V1_ListSourcesResponse {
        try await coop(Methods.ListSources.self, request, options)
    }

    public func search(_ text: String, limit: Int32 = 0, options: CallOptions = .defaults) async throws -> [Coop_V1_SearchHit] {
        let reply: Coop_V1_SearchResponse = try await coop(Methods.Search.self, Coop_V1_SearchRequest.with {
            $0.query = text
            $0.limit = limit
        }, options)
        return reply.hits
    }

    /// Every stored relationship between two countries, ordered by pair.
    public func listRelationships(options: CallOptions = .defaults) async throws -> [Coop_V1_Relationship] {
        let reply: Coop_V1_ListRelationshipsResponse = try await coop(
            Methods.ListRelationships.self, Coop_V1_ListRelationshipsRequest(), options)
        return reply.relationships
    }

    /// The change log from `fromSequence` (0: only changes from now on), then live, until the task ends.
    public func watchChanges(
        fromSequence: Int64 = 0, options: CallOptions = .defaults
    ) throws -> some AsyncSequence<Coop_V1_Change, any Error> {
        try serverStream(
            service: Methods.WatchChanges.service, method: Methods.WatchChanges.name,
            request: Coop_V1_WatchChangesRequest.with { $0.fromSequence = fromSequence },
            as: Coop_V1_Change.self, options: options)
    }

    // MARK: writes

    public func putSource(_ source: Coop_V1_Source, requestID: String = "", options: CallOptions = .defaults)
        async throws -> Coop_V1_Source
    {
        try await coop(Methods.PutSource.self, Coop_V1_PutSourceRequest.with {
            $0.requestID = requestID.isEmpty ? Self.newRequestID() : requestID
            $0.source = source
        }, options)
    }

    public func putIndicator(_ indicator: Coop_V1_Indicator, requestID: String = "", options: CallOptions = .defaults)
        async throws -> Coop_V1_Indicator
    {
        try await coop(Methods.PutIndicator.self, Coop_V1_PutIndicatorRequest.with {
            $0.requestID = requestID.isEmpty ? Self.newRequestID() : requestID
            $0.indicator = indicator
        }, options)
    }

    /// Stores every observation, or none.
    public func addObservations(
        _ observations: [Coop_V1_Observation], requestID: String = "", options: CallOptions = .defaults
    ) async throws -> [Coop_V1_Observation] {
        let reply: Coop_V1_AddObservationsResponse = try await coop(Methods.AddObservations.self, Coop_V1_AddObservationsRequest.with {
            $0.requestID = requestID.isEmpty ? Self.newRequestID() : requestID
            $0.observations = observations
        }, options)
        return reply.observations
    }

    public func reviseObservation(
        supersedes id: Int64, with revision: Coop_V1_Observation, requestID: String = "",
        options: CallOptions = .defaults
    ) async throws -> Coop_V1_Observation {
        try await coop(Methods.ReviseObservation.self, Coop_V1_ReviseObservationRequest.with {
            $0.requestID = requestID.isEmpty ? Self.newRequestID() : requestID
            $0.supersedesID = id
            $0.revision = revision
        }, options)
    }

    public func retractObservation(
        _ id: Int64, reason: String, requestID: String = "", options: CallOptions = .defaults
    ) async throws -> Coop_V1_Observation {
        try await coop(Methods.RetractObservation.self, Coop_V1_RetractObservationRequest.with {
            $0.requestID = requestID.isEmpty ? Self.newRequestID() : requestID
            $0.observationID = id
            $0.reason = reason
        }, options)
    }

    public func putEvent(_ event: Coop_V1_Event, requestID: String = "", options: CallOptions = .defaults)
        async throws -> Coop_V1_Event
    {
        try await coop(Methods.PutEvent.self, Coop_V1_PutEventRequest.with {
            $0.requestID = requestID.isEmpty ? Self.newRequestID() : requestID
            $0.event = event
        }, options)
    }

    public func putAgreement(_ agreement: Coop_V1_Agreement, requestID: String = "", options: CallOptions = .defaults)
        async throws -> Coop_V1_Agreement
    {
        try await coop(Methods.PutAgreement.self, Coop_V1_PutAgreementRequest.with {
            $0.requestID = requestID.isEmpty ? Self.newRequestID() : requestID
            $0.agreement = agreement
        }, options)
    }

    public func addStatement(
        _ statement: Coop_V1_Statement, claim: Coop_V1_Observation? = nil, requestID: String = "",
        options: CallOptions = .defaults
    ) async throws -> Coop_V1_Statement {
        try await coop(Methods.AddStatement.self, Coop_V1_AddStatementRequest.with {
            $0.requestID = requestID.isEmpty ? Self.newRequestID() : requestID
            $0.statement = statement
            if let claim { $0.claim = claim }
        }, options)
    }

    public func linkConflict(
        _ id: Int64, with other: Int64, note: String = "", requestID: String = "", options: CallOptions = .defaults
    ) async throws -> Coop_V1_Observation {
        let reply: Coop_V1_LinkConflictResponse = try await coop(Methods.LinkConflict.self, Coop_V1_LinkConflictRequest.with {
            $0.requestID = requestID.isEmpty ? Self.newRequestID() : requestID
            $0.observationID = id
            $0.conflictsWithID = other
            $0.note = note
        }, options)
        return reply.observation
    }

    /// Creates or replaces the relationship of the pair (given in either order).
    public func putRelationship(
        _ relationship: Coop_V1_Relationship, requestID: String = "", options: CallOptions = .defaults
    ) async throws -> Coop_V1_Relationship {
        try await coop(Methods.PutRelationship.self, Coop_V1_PutRelationshipRequest.with {
            $0.requestID = requestID.isEmpty ? Self.newRequestID() : requestID
            $0.relationship = relationship
        }, options)
    }
}

