package mw_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/wikimod/wikimod/internal/devwiki"
	"github.com/wikimod/wikimod/internal/testwait"
)

// TestPageListingsAgainstRealWiki lists a real category's members and a
// prefix's pages, in the main namespace and in one the prefix names
// (Template:), bounded by the limit asked with More set past it, and a
// category's size from the wiki's own count.
func TestPageListingsAgainstRealWiki(t *testing.T) {
	w := devwiki.Need(t, wiki)
	c := newBot(t, nil, nil)
	ctx := context.Background()
	s := testwait.Unique("")
	cat := "Listed " + s
	var pages, templates []string
	for i := range 5 {
		pages = append(pages, fmt.Sprintf("Listed page %s %d", s, i))
		templates = append(templates, fmt.Sprintf("Template:Listed %s %d", s, i))
	}
	for _, p := range append(slices.Clone(pages), templates[:2]...) {
		if err := w.EditAs(ctx, "Admin", devwiki.AdminPassword, p, "text [[Category:"+cat+"]]"); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range templates[2:] {
		if err := w.EditAs(ctx, "Admin", devwiki.AdminPassword, p, "no category"); err != nil {
			t.Fatal(err)
		}
	}

	all, err := c.CategoryMembers(ctx, cat, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := append(slices.Clone(pages), templates[:2]...)
	if got := slices.Sorted(slices.Values(all.Titles)); !slices.Equal(got, slices.Sorted(slices.Values(want))) || all.More || all.Total != 7 {
		t.Errorf("category members: %+v, want %q, not more, total 7", all, want)
	}
	// Named with its namespace, and cut at a limit met in two requests.
	first, err := c.CategoryMembers(ctx, "Category:"+cat, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Titles) != 3 || !first.More || first.Total != 7 {
		t.Errorf("three of the category: %+v, want 3 titles, more, total 7", first)
	}
	none, err := c.CategoryMembers(ctx, "No such category "+s, 3)
	if err != nil || len(none.Titles) != 0 || none.More {
		t.Errorf("an empty category: %+v, %v", none, err)
	}

	main, err := c.PrefixPages(ctx, "Listed page "+s, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(main.Titles, pages) || main.More || main.Total != -1 {
		t.Errorf("main-namespace prefix: %+v, want %q", main, pages)
	}
	tpl, err := c.PrefixPages(ctx, "template:Listed "+s, 4)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tpl.Titles, templates[:4]) || !tpl.More {
		t.Errorf("template prefix: %+v, want %q and more", tpl, templates[:4])
	}
}
