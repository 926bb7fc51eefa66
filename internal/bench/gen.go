package bench

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Size is a size class of generated events.
type Size uint8

// The size classes. Each event's length is drawn uniformly within ±10% of its
// class's target (see Size.Target); SizeMixed draws the class of each event:
// 70% small, 25% medium, 5% large, about 3.2 KB on average.
const (
	// SizeMedium (the zero value) is an analytics.js event with a full
	// browser context and a few products: about 3 KB.
	SizeMedium Size = iota
	// SizeSmall is a server-side event with a short context: about 0.5 KB.
	SizeSmall
	// SizeLarge is an order with a long product list: about 40 KB.
	SizeLarge
	// SizeMixed mixes the three.
	SizeMixed
)

// ErrUnknownSize is wrapped by ParseSize for a name it does not know.
var ErrUnknownSize = errors.New("unknown event size")

// ParseSize reads "small", "medium", "large" or "mixed".
func ParseSize(s string) (Size, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "small":
		return SizeSmall, nil
	case "medium", "":
		return SizeMedium, nil
	case "large":
		return SizeLarge, nil
	case "mixed":
		return SizeMixed, nil
	}
	return 0, fmt.Errorf("%w %q: want small, medium, large or mixed", ErrUnknownSize, s)
}

// String returns the size's name.
func (s Size) String() string {
	switch s {
	case SizeSmall:
		return "small"
	case SizeMedium:
		return "medium"
	case SizeLarge:
		return "large"
	case SizeMixed:
		return "mixed"
	}
	return "Size(" + strconv.Itoa(int(s)) + ")"
}

// Target returns the mean length in bytes of the class's events; for
// SizeMixed, the mean over its mix.
func (s Size) Target() int {
	switch s {
	case SizeSmall:
		return 512
	case SizeLarge:
		return 40 << 10
	case SizeMixed:
		return (70*512 + 25*(3<<10) + 5*(40<<10)) / 100
	}
	return 3 << 10
}

// Generator makes realistic Segment events, deterministically: the i-th
// event depends only on Seed, Size and i, so events can be made in any order
// and by several goroutines at once. Every event is a well-formed JSON object
// that the Send Data action accepts with its default mapping and
// subscription, and has a messageId of its own ("bench-" SEED "-" i), so a
// table with the dedupe schema gets one row per event. The zero value makes
// medium events with seed 0.
type Generator struct {
	Seed uint64
	Size Size
}

// epoch is the timestamp of event 0; each event is about 137 ms after the
// previous one.
var epoch = time.Date(2025, 7, 7, 10, 0, 0, 0, time.UTC)

// Event returns the i-th event (i ≥ 0).
func (g Generator) Event(i int) []byte {
	r := rand.New(rand.NewPCG(g.Seed, uint64(i)^0x5e6d_b3e4_c4a1_0001))
	class := g.Size
	if class == SizeMixed {
		switch u := r.IntN(100); {
		case u < 70:
			class = SizeSmall
		case u < 95:
			class = SizeMedium
		default:
			class = SizeLarge
		}
	}
	t := class.Target()
	n := t - t/10 + r.IntN(t/5+1)
	e := eventBuilder{r: r, b: make([]byte, 0, n+256), id: g.messageID(i), i: i}
	return e.build(class, n)
}

// MessageID returns the messageId of the i-th event.
func (g Generator) MessageID(i int) string { return g.messageID(i) }

func (g Generator) messageID(i int) string {
	return "bench-" + strconv.FormatUint(g.Seed, 10) + "-" + fmt.Sprintf("%010d", i)
}

// Events returns events [from, from+n).
func (g Generator) Events(from, n int) [][]byte {
	out := make([][]byte, n)
	for k := range out {
		out[k] = g.Event(from + k)
	}
	return out
}

// eventBuilder writes one event.
type eventBuilder struct {
	r  *rand.Rand
	b  []byte
	id string
	i  int
}

// callTypes are drawn with these weights: tracks are most frequent.
var callTypes = []struct {
	name   string
	weight int
}{{"track", 60}, {"identify", 12}, {"page", 12}, {"screen", 6}, {"group", 5}, {"alias", 5}}

var (
	trackEvents  = []string{"Product Viewed", "Product Added", "Cart Viewed", "Checkout Started", "Order Completed", "Signed Up", "Video Playback Started", "Search Performed"}
	pageNames    = []string{"Home", "Pricing", "Product", "Docs", "Blog Post", "Checkout", "Account Settings"}
	screenNames  = []string{"Home", "Feed", "Product Detail", "Cart", "Profile", "Onboarding Step 2"}
	firstNames   = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Radia", "Linus", "Frances", "Dennis"}
	lastNames    = []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Perlman", "Torvalds", "Allen", "Ritchie"}
	categories   = []string{"Games", "Books", "Outdoors", "Kitchen", "Electronics", "Garden"}
	brands       = []string{"Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark"}
	cities       = []string{"San Francisco", "Paris", "Berlin", "São Paulo", "東京", "Zürich", "Lagos", "Mumbai"}
	plans        = []string{"free", "pro", "team", "enterprise"}
	libraries    = []string{`{"name":"analytics-node","version":"2.1.2"}`, `{"name":"analytics-python","version":"2.3.2"}`, `{"name":"analytics-go","version":"3.3.0"}`, `{"name":"analytics-ruby","version":"2.4.0"}`}
	userAgents   = []string{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"}
	loremWords   = strings.Fields("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris nisi aliquip ex ea commodo consequat")
	campaignSrcs = []string{"google", "newsletter", "twitter", "partner", "bing"}
)

func (e *eventBuilder) pick(list []string) string { return list[e.r.IntN(len(list))] }

func (e *eventBuilder) callType() string {
	u := e.r.IntN(100)
	for _, c := range callTypes {
		if u < c.weight {
			return c.name
		}
		u -= c.weight
	}
	return "track"
}

// build writes an event of the class, n bytes long (or as short as the
// class's required members allow).
func (e *eventBuilder) build(class Size, n int) []byte {
	typ := e.callType()
	if class == SizeLarge {
		typ = "track"
	}
	e.raw(`{"type":`)
	e.str(typ)
	e.raw(`,"messageId":`)
	e.str(e.id)
	ts := epoch.Add(time.Duration(e.i)*137*time.Millisecond + time.Duration(e.r.IntN(100))*time.Millisecond)
	user := "user_" + strconv.Itoa(e.r.IntN(50_000))
	if typ == "alias" {
		e.raw(`,"previousId":`)
		e.str(e.uuid())
	} else {
		e.raw(`,"anonymousId":`)
		e.str(e.uuid())
	}
	if typ == "alias" || e.r.IntN(10) < 8 {
		e.raw(`,"userId":`)
		e.str(user)
	}
	e.raw(`,"timestamp":`)
	e.time(ts)
	if class != SizeSmall {
		e.raw(`,"originalTimestamp":`)
		e.time(ts.Add(-time.Duration(200+e.r.IntN(300)) * time.Millisecond))
		e.raw(`,"sentAt":`)
		e.time(ts.Add(-time.Duration(20+e.r.IntN(50)) * time.Millisecond))
	}
	e.raw(`,"receivedAt":`)
	e.time(ts.Add(time.Duration(40+e.r.IntN(200)) * time.Millisecond))
	switch typ {
	case "track":
		e.raw(`,"event":`)
		if class == SizeLarge {
			e.str("Order Completed")
		} else {
			e.str(e.pick(trackEvents))
		}
	case "page":
		e.raw(`,"name":`)
		e.str(e.pick(pageNames))
	case "screen":
		e.raw(`,"name":`)
		e.str(e.pick(screenNames))
	case "group":
		e.raw(`,"groupId":`)
		e.str("grp_" + strconv.Itoa(e.r.IntN(5000)))
	}
	e.context(class, typ)
	e.raw(`,"integrations":{"All":true}`)
	obj := "properties"
	if typ == "identify" || typ == "group" {
		obj = "traits"
	}
	e.raw(`,"`)
	e.raw(obj)
	e.raw(`":{`)
	// The object's members: fixed ones first, then products for larger
	// classes, then a free-text member padded to the exact length.
	e.members(typ, class)
	if class != SizeSmall && typ == "track" {
		e.products(class, n)
	}
	const tail = `"}}`
	e.raw(`,"note":"`)
	for len(e.b)+len(tail) < n {
		w := e.pick(loremWords)
		if room := n - len(tail) - len(e.b); len(w)+1 > room {
			w = "lorem ipsum dolor"[:max(room, 0)]
			e.b = append(e.b, w...)
			break
		}
		e.b = append(e.b, w...)
		e.b = append(e.b, ' ')
	}
	e.raw(tail)
	return e.b
}

// context writes the event's context: a library for small events, the
// full analytics.js browser context otherwise.
func (e *eventBuilder) context(class Size, typ string) {
	e.raw(`,"context":{"library":`)
	if class == SizeSmall {
		e.raw(e.pick(libraries))
		e.raw(`,"ip":`)
		e.str(e.ip())
		e.raw(`}`)
		return
	}
	e.raw(`{"name":"analytics.js","version":"next-1.72.0"},"ip":`)
	e.str(e.ip())
	e.raw(`,"locale":"en-US","timezone":"Europe/Paris","userAgent":`)
	e.str(e.pick(userAgents))
	e.raw(`,"userAgentData":{"brands":[{"brand":"Chromium","version":"126"},{"brand":"Google Chrome","version":"126"}],"mobile":false,"platform":"macOS"}`)
	path := "/" + strings.ToLower(strings.ReplaceAll(e.pick(pageNames), " ", "-"))
	e.raw(`,"page":{"path":`)
	e.str(path)
	e.raw(`,"referrer":"https://www.google.com/","search":"?utm_source=`)
	src := e.pick(campaignSrcs)
	e.raw(src)
	e.raw(`","title":`)
	e.str(e.pick(pageNames) + " | Shop")
	e.raw(`,"url":`)
	e.str("https://shop.example.com" + path + "?utm_source=" + src)
	e.raw(`},"campaign":{"name":"summer_sale","source":`)
	e.str(src)
	e.raw(`,"medium":"cpc","term":"board games","content":"banner_b"}`)
	if typ == "identify" {
		e.raw(`,"traits":{"plan":`)
		e.str(e.pick(plans))
		e.raw(`}`)
	}
	e.raw(`}`)
}

// members writes the first members of properties or traits.
func (e *eventBuilder) members(typ string, class Size) {
	switch typ {
	case "identify":
		first, last := e.pick(firstNames), e.pick(lastNames)
		e.raw(`"email":`)
		e.str(strings.ToLower(first+"."+last) + "@example.com")
		e.raw(`,"firstName":`)
		e.str(first)
		e.raw(`,"lastName":`)
		e.str(last)
		e.raw(`,"plan":`)
		e.str(e.pick(plans))
		e.raw(`,"logins":`)
		e.int(e.r.IntN(500))
		e.raw(`,"address":{"city":`)
		e.str(e.pick(cities))
		e.raw(`,"country":"FR"}`)
		e.raw(`,"createdAt":`)
		e.time(epoch.Add(-time.Duration(e.r.IntN(1000)) * 24 * time.Hour))
	case "group":
		e.raw(`"name":`)
		e.str(e.pick(brands) + " Inc.")
		e.raw(`,"industry":"Technology","employees":`)
		e.int(10 + e.r.IntN(10_000))
		e.raw(`,"plan":`)
		e.str(e.pick(plans))
	case "page", "screen":
		e.raw(`"path":"/products/`)
		e.int(e.r.IntN(1000))
		e.raw(`","title":"Product","referrer":"https://www.google.com/","scroll_depth":`)
		e.int(e.r.IntN(100))
	default:
		e.raw(`"product_id":"507f1f77bcf86cd7`)
		e.raw(fmt.Sprintf("%08x", e.r.Uint32()))
		e.raw(`","sku":"G-`)
		e.int(10_000 + e.r.IntN(90_000))
		e.raw(`","category":`)
		e.str(e.pick(categories))
		e.raw(`,"price":`)
		e.int(1 + e.r.IntN(300))
		e.raw(`.99,"quantity":`)
		e.int(1 + e.r.IntN(4))
		e.raw(`,"currency":"USD","in_stock":true,"order_ref":12345678901234567890`)
	}
}

// products writes an array of products that stops short of n, leaving room
// for the padding member.
func (e *eventBuilder) products(class Size, n int) {
	limit := 3 + e.r.IntN(3)
	if class == SizeLarge {
		limit = 1 << 30
	}
	const itemMax, reserve = 260, 96
	e.raw(`,"products":[`)
	for k := 0; k < limit && len(e.b)+itemMax+reserve < n; k++ {
		if k > 0 {
			e.raw(`,`)
		}
		e.raw(`{"product_id":"`)
		e.raw(fmt.Sprintf("%012x", e.r.Uint64()&0xffff_ffff_ffff))
		e.raw(`","sku":"G-`)
		e.int(10_000 + e.r.IntN(90_000))
		e.raw(`","name":`)
		e.str(e.pick(brands) + " " + e.pick(categories) + " No. " + strconv.Itoa(k))
		e.raw(`,"brand":`)
		e.str(e.pick(brands))
		e.raw(`,"category":`)
		e.str(e.pick(categories))
		e.raw(`,"price":`)
		e.int(1 + e.r.IntN(300))
		e.raw(`.`)
		e.int(10 + e.r.IntN(90))
		e.raw(`,"quantity":`)
		e.int(1 + e.r.IntN(4))
		e.raw(`,"position":`)
		e.int(k + 1)
		e.raw(`,"url":"https://shop.example.com/p/`)
		e.int(e.r.IntN(100_000))
		e.raw(`"}`)
	}
	e.raw(`]`)
}

func (e *eventBuilder) raw(s string) { e.b = append(e.b, s...) }

// str appends s as a JSON string; the generator's strings need no escapes
// beyond what strconv.Quote would do for ASCII, and non-ASCII letters are
// kept as UTF-8.
func (e *eventBuilder) str(s string) {
	e.b = append(e.b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			e.b = append(e.b, '\\', c)
		default:
			e.b = append(e.b, c)
		}
	}
	e.b = append(e.b, '"')
}

func (e *eventBuilder) int(n int) { e.b = strconv.AppendInt(e.b, int64(n), 10) }

func (e *eventBuilder) time(t time.Time) {
	e.b = append(e.b, '"')
	e.b = t.AppendFormat(e.b, "2006-01-02T15:04:05.000Z07:00")
	e.b = append(e.b, '"')
}

func (e *eventBuilder) ip() string {
	return "203.0." + strconv.Itoa(e.r.IntN(256)) + "." + strconv.Itoa(1+e.r.IntN(254))
}

func (e *eventBuilder) uuid() string {
	x, y := e.r.Uint64(), e.r.Uint64()
	s := fmt.Sprintf("%016x%016x", x, y)
	return s[0:8] + "-" + s[8:12] + "-4" + s[13:16] + "-a" + s[17:20] + "-" + s[20:32]
}
