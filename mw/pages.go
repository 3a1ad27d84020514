package mw

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// NSCategory is the namespace of categories.
const NSCategory = 14

// maxListLimit is the most titles one listing request asks for: the limit
// the API gives every session (5000 needs the apihighlimits right).
const maxListLimit = 500

// PageList is a bounded listing of a wiki's pages: the first titles, in
// the wiki's order, and whether there were more.
type PageList struct {
	Titles []string
	// More is set when the wiki has more pages than were asked for.
	More bool
	// Total is how many the wiki counts in all, where it keeps a count (a
	// category's pages, subcategories and files); -1 when it does not.
	Total int
}

// CategoryMembers lists up to limit pages of the category called name
// (with or without the wiki's name for the category namespace:
// "Templates" or "Category:Templates"), in every namespace, in the
// category's order (list=categorymembers), and the category's size
// (prop=categoryinfo) from the same first request.
func (c *Client) CategoryMembers(ctx context.Context, name string, limit int) (PageList, error) {
	out := PageList{Total: -1}
	if limit <= 0 {
		return out, nil
	}
	ns, err := c.namespaces(ctx)
	if err != nil {
		return out, err
	}
	if n, rest, ok := ns.split(name); ok && n == NSCategory {
		name = rest
	}
	title := "Category:" + strings.TrimSpace(name)
	var cont string
	for {
		var res struct {
			Continue struct {
				CMContinue string `json:"cmcontinue"`
			} `json:"continue"`
			Query struct {
				Pages []struct {
					Missing      bool `json:"missing"`
					CategoryInfo *struct {
						Size int `json:"size"`
					} `json:"categoryinfo"`
				} `json:"pages"`
				CategoryMembers []struct {
					Title string `json:"title"`
				} `json:"categorymembers"`
			} `json:"query"`
		}
		v := url.Values{
			"action": {"query"}, "list": {"categorymembers"}, "cmtitle": {title}, "cmprop": {"title"},
			"cmlimit": {strconv.Itoa(min(limit+1-len(out.Titles), maxListLimit))},
		}
		if cont == "" {
			v.Set("prop", "categoryinfo")
			v.Set("titles", title)
		} else {
			v.Set("cmcontinue", cont)
		}
		if _, err := c.Get(ctx, v, &res); err != nil {
			return out, fmt.Errorf("categorymembers %q: %w", title, err)
		}
		for _, p := range res.Query.Pages {
			if p.CategoryInfo != nil {
				out.Total = p.CategoryInfo.Size
			}
		}
		for _, m := range res.Query.CategoryMembers {
			out.Titles = append(out.Titles, m.Title)
		}
		cont = res.Continue.CMContinue
		if len(out.Titles) > limit {
			out.Titles, out.More = out.Titles[:limit], true
			return out, nil
		}
		if cont == "" {
			return out, nil
		}
	}
}

// PrefixPages lists up to limit pages whose titles start with prefix, in
// the namespace the prefix names ("Template:Nav" lists the templates
// starting with "Nav"; a prefix without a namespace lists main-namespace
// pages), in title order (list=allpages). A prefix naming a namespace the
// wiki does not have is read as a main-namespace prefix, as the wiki reads
// such a title.
func (c *Client) PrefixPages(ctx context.Context, prefix string, limit int) (PageList, error) {
	out := PageList{Total: -1}
	if limit <= 0 {
		return out, nil
	}
	ns, err := c.namespaces(ctx)
	if err != nil {
		return out, err
	}
	n, rest, ok := ns.split(prefix)
	if !ok {
		n, rest = 0, prefix
	}
	var cont string
	for {
		var res struct {
			Continue struct {
				APContinue string `json:"apcontinue"`
			} `json:"continue"`
			Query struct {
				AllPages []struct {
					Title string `json:"title"`
				} `json:"allpages"`
			} `json:"query"`
		}
		v := url.Values{
			"action": {"query"}, "list": {"allpages"}, "apnamespace": {strconv.Itoa(n)},
			"aplimit": {strconv.Itoa(min(limit+1-len(out.Titles), maxListLimit))},
		}
		if rest != "" {
			v.Set("apprefix", rest)
		}
		if cont != "" {
			v.Set("apcontinue", cont)
		}
		if _, err := c.Get(ctx, v, &res); err != nil {
			return out, fmt.Errorf("allpages %q: %w", prefix, err)
		}
		for _, p := range res.Query.AllPages {
			out.Titles = append(out.Titles, p.Title)
		}
		cont = res.Continue.APContinue
		if len(out.Titles) > limit {
			out.Titles, out.More = out.Titles[:limit], true
			return out, nil
		}
		if cont == "" {
			return out, nil
		}
	}
}

// namespaceNames maps each name of each namespace the wiki has (its local
// name, canonical name and aliases), lower-cased with spaces, to its
// number.
type namespaceNames map[string]int

// split reads a namespace off the front of a title: its number and the
// rest, when the part before the first colon names one of the wiki's
// namespaces.
func (ns namespaceNames) split(title string) (int, string, bool) {
	before, after, found := strings.Cut(strings.TrimSpace(title), ":")
	if !found {
		return 0, title, false
	}
	key := strings.ToLower(strings.Join(strings.Fields(strings.ReplaceAll(before, "_", " ")), " "))
	n, ok := ns[key]
	if !ok || n == 0 {
		return 0, title, false
	}
	return n, strings.TrimSpace(after), true
}

// namespaces reads the wiki's namespaces and their aliases
// (meta=siteinfo&siprop=namespaces|namespacealiases).
func (c *Client) namespaces(ctx context.Context) (namespaceNames, error) {
	var res struct {
		Query struct {
			Namespaces map[string]struct {
				ID        int    `json:"id"`
				Name      string `json:"name"`
				Canonical string `json:"canonical"`
			} `json:"namespaces"`
			Aliases []struct {
				ID    int    `json:"id"`
				Alias string `json:"alias"`
			} `json:"namespacealiases"`
		} `json:"query"`
	}
	if _, err := c.Get(ctx, url.Values{"action": {"query"}, "meta": {"siteinfo"}, "siprop": {"namespaces|namespacealiases"}}, &res); err != nil {
		return nil, fmt.Errorf("namespaces: %w", err)
	}
	out := namespaceNames{}
	add := func(name string, id int) {
		if name != "" {
			out[strings.ToLower(strings.ReplaceAll(name, "_", " "))] = id
		}
	}
	for _, n := range res.Query.Namespaces {
		add(n.Name, n.ID)
		add(n.Canonical, n.ID)
	}
	for _, a := range res.Query.Aliases {
		add(a.Alias, a.ID)
	}
	return out, nil
}
