internal import GRDB

enum CountryTable {
    static func all(_ db: SQL) throws -> [Country] {
        try db.rows("SELECT code, name, other_names_json FROM countries ORDER BY code").map {
            Country(
                code: $0["code"], name: $0["name"],
                otherNames: try $0.json("other_names_json", as: [String].self, empty: []))
        }
    }
}
