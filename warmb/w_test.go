package warmb
import ("testing"; _ "github.com/blevesearch/bleve/v2")
func TestX(t *testing.T){}
