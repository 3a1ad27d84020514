package commands

import (
	"context"

	"github.com/wikimod/wikimod/i18n"
)

func (s *Service) helpCommand() Command {
	return Command{
		Spec: Spec{
			Name:       "help",
			Summary:    i18n.M("wikimod-command-help-summary"),
			Positional: "command",
			Usage:      "/help [COMMAND]",
			Params:     []Param{{Name: "command", Description: i18n.M("wikimod-param-help-command")}},
			NoWiki:     true,
		},
		Run: s.runHelp,
	}
}

func (s *Service) runHelp(_ context.Context, req *Request) (Reply, error) {
	name, _ := req.Args.Get("command")
	if name == "" && len(req.Args.Positional) > 0 {
		name = req.Args.Positional[0]
	}
	name = normalizeName(name)
	if name == "" {
		r := Reply{Title: i18n.M("wikimod-help-title"), Text: i18n.M("wikimod-help-text")}
		for _, sp := range s.Specs() {
			summary := sp.Summary
			if sp.Right != "" {
				summary = i18n.M("wikimod-help-summary-right", sp.Summary, sp.Right)
			}
			r.Fields = append(r.Fields, Field{Label: i18n.Raw("/" + sp.Name), Value: summary})
		}
		return r, nil
	}
	sp, ok := s.Spec(name)
	if !ok {
		return Reply{}, usage("wikimod-help-unknown-command", name, s.commandList())
	}
	text := i18n.M("wikimod-help-command", sp.Summary)
	if sp.Right != "" {
		text = i18n.M("wikimod-help-command-right", sp.Summary, sp.Right)
	}
	// Usage is the command's grammar, typed as it is: not language.
	r := Reply{Title: i18n.Raw(sp.Usage), Text: i18n.Lines(text, sp.Help)}
	for _, p := range sp.Params {
		desc := p.Description
		if p.Levels && req.Site != nil {
			desc = i18n.M("wikimod-help-param-levels", desc, levelCodes(req.Site.Restrictions.Levels))
		}
		if p.Required {
			desc = i18n.M("wikimod-help-param-required", desc)
		}
		if p.Secret {
			desc = i18n.M("wikimod-help-param-secret", desc)
		}
		r.Fields = append(r.Fields, Field{Label: i18n.Raw(p.Name), Value: desc})
	}
	return r, nil
}

// levelCodes lists the codes of the wiki's protection levels as they are
// typed, and "all", which lifts a protection.
func levelCodes(levels []string) i18n.Message {
	var items []i18n.Message
	for _, l := range nonEmpty(levels) {
		items = append(items, i18n.Raw(l))
	}
	return i18n.List(append(items, i18n.Raw("all"))...)
}

func nonEmpty(list []string) []string {
	var out []string
	for _, s := range list {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
