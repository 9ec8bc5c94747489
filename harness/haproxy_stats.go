package harness

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// RouteServer is one server of an endpoint's route as HAProxy sees it.
type RouteServer struct {
	Route  string // rw or ro
	Name   string // the node
	Status string // HAProxy's: UP, DOWN, or a transition such as "UP 1/2"
	Check  string // the last check's result; INI before the first
	Backup bool   // used only when no other server of the route is up
}

// Up reports whether the route sends new connections to the server now.
func (s RouteServer) Up() bool { return strings.HasPrefix(s.Status, "UP") }

// settled reports whether HAProxy has checked the server since it started
// and holds it in a steady state. HAProxy counts a server up before its
// first check and keeps it up until fall checks failed in a row, so a
// route that answered right once may still send the next connection to a
// node of the wrong role until every server is settled.
func (s RouteServer) settled() bool {
	if s.Check == "" || strings.HasPrefix(s.Check, "INI") || strings.HasPrefix(s.Check, "* INI") {
		return false
	}
	return s.Status == "UP" || s.Status == "DOWN"
}

// Routes reads the servers of region's endpoint from HAProxy's statistics
// page, sorted by route and name.
func (l *Lab) Routes(ctx context.Context, region string) ([]RouteServer, error) {
	if region == "" {
		region = l.topo.PrimaryRegion
	}
	proxy, ok := l.proxyFor(region)
	if !ok {
		return nil, fmt.Errorf("read routes: no endpoint in region %q", region)
	}
	port := l.hostPort(proxy.Name, portStats)
	if port == 0 {
		return nil, fmt.Errorf("read routes of %s: its statistics port is not published", proxy.Name)
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(port)+"/;csv", nil)
	if err != nil {
		return nil, fmt.Errorf("read routes of %s: %w", proxy.Name, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read routes of %s: %w", proxy.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("read routes of %s: statistics page answered %s", proxy.Name, resp.Status)
	}
	out, err := parseRoutes(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read routes of %s: %w", proxy.Name, err)
	}
	return out, nil
}

// parseRoutes reads HAProxy's CSV statistics ("# pxname,svname,...") and
// keeps the servers of the rw and ro sections.
func parseRoutes(r io.Reader) ([]RouteServer, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("parse statistics: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimPrefix(strings.TrimSpace(h), "# ")] = i
	}
	for _, need := range []string{"pxname", "svname", "status", "check_status", "bck"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("parse statistics: no %s column in %q", need, strings.Join(head, ","))
		}
	}
	field := func(rec []string, name string) string {
		if i := col[name]; i < len(rec) {
			return rec[i]
		}
		return ""
	}
	var out []RouteServer
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("parse statistics: %w", err)
		}
		route, name := field(rec, "pxname"), field(rec, "svname")
		if (route != EndpointRW && route != EndpointRO) || name == "FRONTEND" || name == "BACKEND" {
			continue
		}
		out = append(out, RouteServer{
			Route: route, Name: name,
			Status: field(rec, "status"), Check: field(rec, "check_status"),
			Backup: field(rec, "bck") == "1",
		})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Route != out[j].Route {
			return out[i].Route < out[j].Route
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// unsettledRoutes lists what keeps region's endpoint from routing steadily:
// a server not yet checked or between states, or a rw route that does not
// lead to exactly one server.
func unsettledRoutes(servers []RouteServer) []string {
	var bad []string
	rwUp := 0
	for _, s := range servers {
		if !s.settled() {
			bad = append(bad, fmt.Sprintf("%s/%s %s (check %s)", s.Route, s.Name, s.Status, s.Check))
		}
		if s.Route == EndpointRW && s.Up() {
			rwUp++
		}
	}
	if len(servers) > 0 && rwUp != 1 {
		bad = append(bad, fmt.Sprintf("rw routes to %d servers", rwUp))
	}
	return bad
}

// routesSettled lists, for every endpoint, what keeps it from routing
// steadily (unsettledRoutes).
func (l *Lab) routesSettled(ctx context.Context) []string {
	var bad []string
	for _, region := range l.EndpointRegions() {
		servers, err := l.Routes(ctx, region)
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		for _, b := range unsettledRoutes(servers) {
			bad = append(bad, "endpoint in "+region+": "+b)
		}
	}
	return bad
}
