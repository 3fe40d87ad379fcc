// pair_summary.go - calls coop.v1.Cooperation/GetPairSummary on coopd with containerd's Go ttrpc, and prints
// the relationship level and the latest figure of each indicator.
//
//	usage: pair_summary [-claims] [SOCKET] [COUNTRY_A COUNTRY_B]   (default countries: VN JP)
//
// Socket: SOCKET, else $COOP_SOCKET, else $COOPD_SOCKET, else the first of /run/coopd/coopd.sock,
// $XDG_RUNTIME_DIR/coopd/coopd.sock and /tmp/coopd-$UID/coopd.sock that accepts a connection (the per-user ones
// only when their directory is this user's alone), as coopctl finds it.
//
// Built offline against Debian's packages (golang-go, golang-github-containerd-ttrpc-dev: ttrpc 1.1.1 on gogo
// protobuf) in GOPATH mode; see build.sh. The messages are hand-encoded rather than generated, so that the
// example is one file needing no more packages than the interop peer: ttrpc's gogo codec calls a message's own
// Marshal()/Unmarshal() methods, so the request (three fields) and the parts of PairSummary printed here are
// written out below from Proto/coop/v1/cooperation.proto. To generate them instead, Debian's gogoprotobuf package
// has protoc-gen-gofast (`protoc --gofast_out=. coop/v1/cooperation.proto`, go_package coopd.example/coop/v1).
// Fields this program does not know are skipped, as protobuf requires.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/ttrpc"
)

// GetPairSummaryRequest is coop.v1.GetPairSummaryRequest.
type GetPairSummaryRequest struct {
	CountryA      string // 1
	CountryB      string // 2
	IncludeClaims bool   // 3
}

func (m *GetPairSummaryRequest) Reset()         { *m = GetPairSummaryRequest{} }
func (m *GetPairSummaryRequest) String() string { return fmt.Sprintf("%+v", *m) }
func (*GetPairSummaryRequest) ProtoMessage()    {}

func (m *GetPairSummaryRequest) Marshal() ([]byte, error) {
	b := appendString(nil, 1, m.CountryA)
	b = appendString(b, 2, m.CountryB)
	if m.IncludeClaims {
		b = append(b, 3<<3|0, 1)
	}
	return b, nil
}

func (m *GetPairSummaryRequest) Unmarshal([]byte) error {
	return errors.New("request: decoding not needed")
}

// PairSummary is the part of coop.v1.PairSummary printed here.
type PairSummary struct {
	CountryA, CountryB Country           // 1, 2
	Relationship       Relationship      // 3
	Indicators         []IndicatorLatest // 4
}

type Country struct{ Code, Name string } // 1, 2

type Relationship struct {
	Established string // 3
	Level       string // 4
	LevelSince  string // 5
}

type IndicatorLatest struct {
	Indicator Indicator   // 1
	Latest    Observation // 2
}

type Indicator struct{ Code, Name, Unit string } // 1, 2, 5

type Observation struct {
	PeriodStart, PeriodEnd string // 6, 7
	Value, ValueHigh       int64  // 8, 9
	UnitMultiplier         int32  // 10
	Unit                   string // 11
}

func (m *PairSummary) Reset()         { *m = PairSummary{} }
func (m *PairSummary) String() string { return fmt.Sprintf("%+v", *m) }
func (*PairSummary) ProtoMessage()    {}
func (*PairSummary) Marshal() ([]byte, error) {
	return nil, errors.New("PairSummary: encoding not needed")
}

func (m *PairSummary) Unmarshal(b []byte) error {
	*m = PairSummary{}
	return fields(b, func(n int, v uint64, s []byte) error {
		switch n {
		case 1:
			return fields(s, m.CountryA.field)
		case 2:
			return fields(s, m.CountryB.field)
		case 3:
			return fields(s, m.Relationship.field)
		case 4:
			var l IndicatorLatest
			if err := fields(s, l.field); err != nil {
				return err
			}
			m.Indicators = append(m.Indicators, l)
		}
		return nil
	})
}

func (c *Country) field(n int, _ uint64, s []byte) error {
	switch n {
	case 1:
		c.Code = string(s)
	case 2:
		c.Name = string(s)
	}
	return nil
}

func (r *Relationship) field(n int, _ uint64, s []byte) error {
	switch n {
	case 3:
		r.Established = string(s)
	case 4:
		r.Level = string(s)
	case 5:
		r.LevelSince = string(s)
	}
	return nil
}

func (l *IndicatorLatest) field(n int, _ uint64, s []byte) error {
	switch n {
	case 1:
		return fields(s, l.Indicator.field)
	case 2:
		return fields(s, l.Latest.field)
	}
	return nil
}

func (i *Indicator) field(n int, _ uint64, s []byte) error {
	switch n {
	case 1:
		i.Code = string(s)
	case 2:
		i.Name = string(s)
	case 5:
		i.Unit = string(s)
	}
	return nil
}

func (o *Observation) field(n int, v uint64, s []byte) error {
	switch n {
	case 6:
		o.PeriodStart = string(s)
	case 7:
		o.PeriodEnd = string(s)
	case 8:
		o.Value = int64(v)
	case 9:
		o.ValueHigh = int64(v)
	case 10:
		o.UnitMultiplier = int32(v)
	case 11:
		o.Unit = string(s)
	}
	return nil
}

// fields calls f for each field of the encoded message b: its number, and its value as a varint (wire type 0)
// or its bytes (wire type 2, copied). Fixed-size fields are skipped; groups are an error.
func fields(b []byte, f func(n int, v uint64, s []byte) error) error {
	for len(b) > 0 {
		key, k := uvarint(b)
		if k <= 0 || key>>3 == 0 || key>>3 > math.MaxInt32 {
			return errors.New("bad field key")
		}
		b = b[k:]
		var v uint64
		var s []byte
		switch key & 7 {
		case 0:
			if v, k = uvarint(b); k <= 0 {
				return errors.New("bad varint")
			}
			b = b[k:]
		case 1:
			if len(b) < 8 {
				return errors.New("short fixed64")
			}
			b = b[8:]
			continue
		case 5:
			if len(b) < 4 {
				return errors.New("short fixed32")
			}
			b = b[4:]
			continue
		case 2:
			l, k := uvarint(b)
			if k <= 0 || l > uint64(len(b)-k) {
				return errors.New("bad length-delimited field")
			}
			s = append([]byte(nil), b[k:k+int(l)]...)
			b = b[k+int(l):]
		default:
			return fmt.Errorf("unsupported wire type %d", key&7)
		}
		if err := f(int(key>>3), v, s); err != nil {
			return err
		}
	}
	return nil
}

func uvarint(b []byte) (uint64, int) {
	var v uint64
	for i := 0; i < len(b) && i < 10; i++ {
		v |= uint64(b[i]&0x7f) << (7 * uint(i))
		if b[i] < 0x80 {
			return v, i + 1
		}
	}
	return 0, -1
}

func appendString(b []byte, n int, s string) []byte {
	if s == "" {
		return b // proto3 leaves out empty strings
	}
	b = appendUvarint(b, uint64(n)<<3|2)
	b = appendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendUvarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// locate returns the socket to use and a connection to it, as coopctl finds coopd.
func locate(explicit string) (string, net.Conn, error) {
	if explicit == "" {
		explicit = os.Getenv("COOP_SOCKET")
	}
	if explicit == "" {
		explicit = os.Getenv("COOPD_SOCKET")
	}
	candidates := []string{explicit}
	perUser := map[string]bool{}
	if explicit == "" {
		candidates = []string{"/run/coopd/coopd.sock"}
		if xdg := os.Getenv("XDG_RUNTIME_DIR"); strings.HasPrefix(xdg, "/") {
			candidates = append(candidates, xdg+"/coopd/coopd.sock")
			perUser[xdg+"/coopd/coopd.sock"] = true
		}
		if uid := os.Getuid(); uid != 0 {
			path := "/tmp/coopd-" + strconv.Itoa(uid) + "/coopd.sock"
			candidates = append(candidates, path)
			perUser[path] = true
		}
	}
	var failures []string
	for _, path := range candidates {
		if perUser[path] {
			if reason := untrusted(path); reason != "" {
				failures = append(failures, path+": not trusted: "+reason)
				continue
			}
		}
		conn, err := net.DialTimeout("unix", path, 2*time.Second)
		if err == nil {
			return path, conn, nil
		}
		failures = append(failures, err.Error())
	}
	return "", nil, errors.New("cannot reach coopd: " + strings.Join(failures, "; "))
}

// untrusted is "" when the directory of a per-user socket is this user's alone (so nobody else can have put a
// socket there), else why not. A missing directory is left to the connection attempt.
func untrusted(path string) string {
	var st syscall.Stat_t
	dir := path[:strings.LastIndex(path, "/")]
	if err := syscall.Stat(dir, &st); err != nil {
		return ""
	}
	if int(st.Uid) != os.Getuid() || st.Mode&0o022 != 0 {
		return dir + " is not this user's alone"
	}
	return ""
}

// amount renders value × 10^multiplier, and a range when value_high is above value.
func amount(o Observation) string {
	s := scaled(o.Value, o.UnitMultiplier)
	if o.ValueHigh > o.Value {
		s += "-" + scaled(o.ValueHigh, o.UnitMultiplier)
	}
	return s
}

func scaled(v int64, multiplier int32) string {
	if multiplier >= 0 {
		return strconv.FormatInt(v, 10) + strings.Repeat("0", int(multiplier))
	}
	return strconv.FormatFloat(float64(v)*math.Pow10(int(multiplier)), 'f', -1, 64)
}

func main() {
	claims := flag.Bool("claims", false, "also figures stated in statements (include_claims)")
	timeout := flag.Duration("timeout", 5*time.Second, "deadline of the call")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: pair_summary [-claims] [-timeout D] [SOCKET] [COUNTRY_A COUNTRY_B]")
		flag.PrintDefaults()
	}
	flag.Parse()
	args := flag.Args()
	socket, a, b := "", "VN", "JP"
	if len(args)%2 == 1 {
		socket, args = args[0], args[1:]
	}
	switch len(args) {
	case 0:
	case 2:
		a, b = strings.ToUpper(args[0]), strings.ToUpper(args[1])
	default:
		flag.Usage()
		os.Exit(2)
	}

	path, conn, err := locate(socket)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pair_summary:", err)
		os.Exit(1)
	}
	client := ttrpc.NewClient(conn)
	defer client.Close()

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	var summary PairSummary
	request := &GetPairSummaryRequest{CountryA: a, CountryB: b, IncludeClaims: *claims}
	if err := client.Call(ctx, "coop.v1.Cooperation", "GetPairSummary", request, &summary); err != nil {
		fmt.Fprintf(os.Stderr, "pair_summary: GetPairSummary(%s, %s) on %s: %v\n", a, b, path, err)
		os.Exit(1)
	}

	fmt.Printf("%s (%s) - %s (%s)\n", summary.CountryA.Name, summary.CountryA.Code, summary.CountryB.Name,
		summary.CountryB.Code)
	r := summary.Relationship
	if r.Level != "" {
		fmt.Printf("relationship: %s", r.Level)
		if r.LevelSince != "" {
			fmt.Printf(" (since %s)", r.LevelSince)
		}
		fmt.Println()
	} else {
		fmt.Println("relationship: not recorded")
	}
	if r.Established != "" {
		fmt.Printf("diplomatic relations since %s\n", r.Established)
	}
	fmt.Println("latest figures:")
	for _, l := range summary.Indicators {
		o := l.Latest
		period := o.PeriodEnd
		if o.PeriodStart != "" && o.PeriodStart != o.PeriodEnd {
			period = o.PeriodStart + ".." + o.PeriodEnd
		}
		unit := o.Unit
		if unit == "" {
			unit = l.Indicator.Unit
		}
		fmt.Printf("  %-40s %s %s  (%s)  %s\n", l.Indicator.Code, amount(o), unit, period, l.Indicator.Name)
	}
}
