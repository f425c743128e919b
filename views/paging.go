package views

// Pager links a list on a page to its other pages: Next is the next page's
// URL ("" on the last), First the first page's ("" on the first). Plain
// links, so paging works without JavaScript.
type Pager struct {
	Next, First string
}
