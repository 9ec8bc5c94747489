package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/replab/replab/harness"
)

func newNetemCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "netem",
		Short: "Inspect the emulated WAN between regions",
	}
	var asJSON bool
	var labID string
	probe := &cobra.Command{
		Use:   "probe [--json]",
		Short: "Measure the RTT between regions (ping inside the nodes) beside the configured one",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withLab(cmd, labID, func(lab *harness.Lab) error { return printProbe(cmd, lab, asJSON) })
		},
	}
	probe.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	probe.Flags().StringVar(&labID, "lab", "", "lab id (default: the only running lab)")
	c.AddCommand(probe)
	return c
}

// printProbe measures the lab's RTTs and prints them beside the configured
// ones; a pair outside its tolerance fails the command.
func printProbe(cmd *cobra.Command, lab *harness.Lab, asJSON bool) error {
	rtts, err := lab.WAN().ProbeRTT(cmd.Context())
	if err != nil {
		return err
	}
	backend, reason := lab.WAN().Backend()
	if asJSON {
		type row struct {
			From         string  `json:"from"`
			To           string  `json:"to"`
			Via          string  `json:"via"`
			ConfiguredMS float64 `json:"configured_ms"`
			MeasuredMS   float64 `json:"measured_ms"`
			ToleranceMS  float64 `json:"tolerance_ms"`
			OK           bool    `json:"ok"`
		}
		out := struct {
			Backend string `json:"backend"`
			Reason  string `json:"reason"`
			Pairs   []row  `json:"pairs"`
		}{Backend: backend, Reason: reason}
		for _, r := range rtts {
			out.Pairs = append(out.Pairs, row{r.From, r.To, r.Via, ms(r.Configured), ms(r.Measured), ms(r.Tolerance), r.OK})
		}
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		w := cmd.OutOrStdout()
		fmt.Fprintf(w, "netem backend %s: %s\n", backend, reason)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "PAIR\tVIA\tCONFIGURED\tMEASURED\tTOLERANCE\tOK")
		for _, r := range rtts {
			fmt.Fprintf(tw, "%s<->%s\t%s\t%s\t%s\t±%s\t%v\n", r.From, r.To, r.Via, r.Configured, r.Measured.Round(10*time.Microsecond), r.Tolerance, r.OK)
		}
		_ = tw.Flush()
		fmt.Fprintln(w, "measured: median of 11 pings from inside the first node's namespace (ping's resolution: 1ms from 100ms, 0.1ms from 10ms, 1µs below)")
	}
	for _, r := range rtts {
		if !r.OK {
			return errors.New("a measured RTT is outside its tolerance")
		}
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
