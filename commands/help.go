package commands

import (
	"context"
	"fmt"
	"strings"

	"github.com/wikimod/wikimod/i18n"
)

func (s *Service) helpCommand() Command {
	return Command{
		Spec: Spec{
			Name:       "help",
			Summary:    "List the commands, or explain one",
			Positional: "command",
			Usage:      "/help [COMMAND]",
			Params:     []Param{{Name: "command", Description: "The command to explain"}},
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
		r := Reply{Title: i18n.Raw("wikimod commands"), Text: i18n.Raw("Arguments are `key=value`; put values with spaces in double quotes. `/help COMMAND` explains one.")}
		for _, sp := range s.Specs() {
			r.Fields = append(r.Fields, Field{Label: i18n.Raw("/" + sp.Name), Value: i18n.Raw(sp.Summary + needs(sp))})
		}
		return r, nil
	}
	sp, ok := s.Spec(name)
	if !ok {
		return Reply{}, usageErrorf("There is no command `/%s`. The commands are %s.", name, s.commandList())
	}
	r := Reply{Title: i18n.Raw(sp.Usage), Text: i18n.Raw(sp.Summary + needs(sp) + ".")}
	if sp.Help != "" {
		r.Text = i18n.Lines(r.Text, i18n.Raw(sp.Help))
	}
	for _, p := range sp.Params {
		desc := p.Description
		if p.Levels && req.Site != nil {
			desc += " — levels: " + strings.Join(nonEmpty(req.Site.Restrictions.Levels), ", ") + ", all"
		}
		if p.Required {
			desc += " (required)"
		}
		if p.Secret {
			desc += " (private: never logged or echoed)"
		}
		r.Fields = append(r.Fields, Field{Label: i18n.Raw(p.Name), Value: i18n.Raw(desc)})
	}
	return r, nil
}

func needs(sp Spec) string {
	if sp.Right == "" {
		return ""
	}
	return fmt.Sprintf("; needs the wiki right `%s`", sp.Right)
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
