package harness

import (
	"os"
	"strings"
	"testing"
)

// The statistics pages were read from a MariaDB lab's HAProxy 2.6: just
// after it started (every server counted up before its first check) and a
// second later.
func TestParseRoutes(t *testing.T) {
	got := routesIn(t, "testdata/haproxy-stats-settled.csv")
	var up []string
	for _, s := range got {
		if s.Up() {
			up = append(up, s.Route+"/"+s.Name)
		}
	}
	if strings.Join(up, " ") != "ro/mdb-2 ro/mdb-3 rw/mdb-1" {
		t.Errorf("up = %v, want ro/mdb-2 ro/mdb-3 rw/mdb-1", up)
	}
	if len(got) != 6 {
		t.Errorf("%d servers, want 6 (the stats section and FRONTEND/BACKEND rows left out): %+v", len(got), got)
	}
	if bad := unsettledRoutes(got); len(bad) != 0 {
		t.Errorf("settled page reported unsettled: %v", bad)
	}
}

func TestUnsettledRoutesCatchesServersNotYetChecked(t *testing.T) {
	got := routesIn(t, "testdata/haproxy-stats-starting.csv")
	bad := strings.Join(unsettledRoutes(got), "; ")
	for _, want := range []string{"rw/mdb-3 UP 1/2 (check INI)", "ro/mdb-1 UP 1/2", "rw routes to 2 servers"} {
		if !strings.Contains(bad, want) {
			t.Errorf("unsettled = %q, want it to name %q", bad, want)
		}
	}
}

func TestUnsettledRoutesWantsOneWriter(t *testing.T) {
	none := []RouteServer{{Route: EndpointRW, Name: "a", Status: "DOWN", Check: "L7STS"}, {Route: EndpointRO, Name: "a", Status: "UP", Check: "L7OK"}}
	if bad := unsettledRoutes(none); len(bad) != 1 || bad[0] != "rw routes to 0 servers" {
		t.Errorf("unsettled = %v, want rw routes to 0 servers", bad)
	}
}

func TestParseRoutesRefusesAPageWithoutItsColumns(t *testing.T) {
	if _, err := parseRoutes(strings.NewReader("# pxname,svname\nrw,a\n")); err == nil || !strings.Contains(err.Error(), "no status column") {
		t.Errorf("err = %v, want no status column", err)
	}
}

// routesIn parses a saved statistics page.
func routesIn(t *testing.T, file string) []RouteServer {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := parseRoutes(f)
	if err != nil {
		t.Fatal(err)
	}
	return got
}
