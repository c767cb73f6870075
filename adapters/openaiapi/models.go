package openaiapi

import (
	"fmt"
	"net/http"

	"github.com/hearthbot/hearth/engine/channelkit"
)

// handleModels answers GET /v1/models: the one configured model.
func (s *Server) handleModels(rw http.ResponseWriter, r *http.Request) {
	if _, f := s.authenticate(r); f != nil {
		writeFault(rw, f)
		return
	}
	channelkit.WriteJSON(rw, http.StatusOK, modelList{Object: "list", Data: []model{s.model()}})
}

// handleModel answers GET /v1/models/{model}.
func (s *Server) handleModel(rw http.ResponseWriter, r *http.Request) {
	if _, f := s.authenticate(r); f != nil {
		writeFault(rw, f)
		return
	}
	if name := r.PathValue("model"); name != s.opts.Model {
		writeFault(rw, newFault(http.StatusNotFound, typeInvalidRequest, "model", codeModelNotFound,
			fmt.Sprintf("the model %q does not exist; this server offers %q", name, s.opts.Model)))
		return
	}
	channelkit.WriteJSON(rw, http.StatusOK, s.model())
}

func (s *Server) model() model {
	return model{ID: s.opts.Model, Object: "model", Created: s.created, OwnedBy: "hearth"}
}
