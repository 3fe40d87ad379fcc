import Testing

@testable import CoopFormats

@Suite struct PartialDateTests {
    @Test(arguments: [
        ("2023", true), ("2023-02", true), ("2024-02-29", true), ("2000-02-29", true), ("2023-12-31", true),
        ("2023-02-29", false), ("1900-02-29", false), ("2023-02-30", false), ("2023-04-31", false),
        ("2023-13", false), ("2023-00", false), ("2023-01-00", false), ("23", false), ("2023-1-01", false),
        ("2023-01-01T00:00", false), ("２０２３", false), ("0999", false), ("2023-", false), ("", false),
        ("2023/02", false), ("2023-02/01", false), ("2023-0a", false), ("2023-+1", false), ("+023", false),
    ])
    func datesAreFullOrPartialISODatesThatExist(text: String, valid: Bool) {
        #expect(PartialDate.isValid(text) == valid)
    }

    /// Days are counted from 1970-01-01 across leap days and centuries, and a day comes back as itself; a partial
    /// date has no day number, and no day outside the years 1000 to 9999 is a date.
    @Test func dayNumbersCountDaysAndComeBackAsTheSameDate() throws {
        let known = [("1970-01-01", 0), ("1969-12-31", -1), ("2000-02-29", 11016), ("2000-03-01", 11017),
                     ("1000-01-01", -354_285), ("9999-12-31", 2_932_896)]
        for (text, number) in known {
            #expect(PartialDate(text)?.dayNumber == number, "\(text)")
            #expect(PartialDate(dayNumber: number)?.description == text, "\(text)")
        }
        var previous = ""
        var wrong: [Int] = []
        // Every day of three centuries' turns, leap days and non-leap centuries (1900, 2100) among them.
        for number in -27_028...49_672 {
            let text = PartialDate(dayNumber: number)?.description ?? ""
            if PartialDate(text)?.dayNumber != number || text <= previous { wrong.append(number) }
            previous = text
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
        #expect(PartialDate("2024-02")?.dayNumber == nil)
        #expect(PartialDate(dayNumber: -354_286) == nil && PartialDate(dayNumber: 2_932_897) == nil)
    }

    /// The Gregorian rule: centuries are leap years only every fourth one.
    @Test func leapYears() {
        #expect(!PartialDate.isLeapYear(1900))
        #expect(PartialDate.isLeapYear(2000))
        #expect(PartialDate.isLeapYear(2024))
        #expect(!PartialDate.isLeapYear(2023))
        #expect(PartialDate("1900-02-29") == nil && PartialDate("1900-02")?.lastDay == "1900-02-28")
        #expect(PartialDate("2000-02-29") != nil && PartialDate("2000-02")?.lastDay == "2000-02-29")
        #expect(PartialDate("2024-02-29") != nil && PartialDate("2024-02")?.lastDay == "2024-02-29")
        #expect(PartialDate("2023-02-29") == nil && PartialDate("2023-02")?.lastDay == "2023-02-28")
    }

    @Test func partialDatesCoverTheirWholePeriod() throws {
        let year = try #require(PartialDate("2024"))
        #expect(year.firstDay == "2024-01-01" && year.lastDay == "2024-12-31")
        #expect((year.year, year.month, year.day) == (2024, nil, nil))
        let month = try #require(PartialDate("2023-04"))
        #expect(month.firstDay == "2023-04-01" && month.lastDay == "2023-04-30")
        let day = try #require(PartialDate("2022-06-29"))
        #expect(day.firstDay == "2022-06-29" && day.lastDay == "2022-06-29")
        #expect(day.description == "2022-06-29" && month.description == "2023-04")
        #expect(PartialDate.firstDay(of: "2019") == "2019-01-01" && PartialDate.lastDay(of: "2019") == "2019-12-31")
        // Optional dates: nothing for nothing (or for a non-date).
        #expect(PartialDate.firstDay(of: "") == "" && PartialDate.lastDay(of: "2019-13") == "")
    }
}
