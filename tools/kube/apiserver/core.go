package main

// A minimal, in-memory core "v1" API: namespaces (cluster-scoped) and events
// (namespaced), with get/list/watch/create/update/patch/delete. It exists so
// that clients which expect a cluster (kopf's namespace observer and event
// poster, `kubectl get ns`) work against the CRD-only apiextensions server.
// It is NOT kube-apiserver: no validation beyond names, no admission, no
// finalizers, no protobuf/Table output, and its state is lost on restart.
// Requests reach it after the generic server's authentication and
// authorization filters (it is the delegate of the apiextensions server).

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apiserver/pkg/endpoints/request"
)

type obj = map[string]any

type coreResource struct {
	name, singular, kind string
	namespaced           bool
	shortNames           []string
	patchSchema          any // Go type used for strategic merge patches
}

var coreResources = map[string]*coreResource{
	"namespaces": {name: "namespaces", singular: "namespace", kind: "Namespace", shortNames: []string{"ns"}, patchSchema: &corev1.Namespace{}},
	"events":     {name: "events", singular: "event", kind: "Event", namespaced: true, shortNames: []string{"ev"}, patchSchema: &corev1.Event{}},
}

// maxHistory bounds the events kept for resuming watches; older resource
// versions answer 410 Gone, as an etcd compaction would.
const maxHistory = 10000

type watchEvent struct {
	Type     string `json:"type"`
	Object   obj    `json:"object"`
	rv       uint64
	resource string
}

type coreAPI struct {
	mu      sync.Mutex
	rv      uint64
	objects map[string]map[string]obj // resource -> key ("ns/name" or "name") -> object (never mutated)
	history []watchEvent
	changed chan struct{} // closed and replaced on every change
}

func newCoreAPI() *coreAPI {
	c := &coreAPI{objects: map[string]map[string]obj{}, changed: make(chan struct{})}
	for r := range coreResources {
		c.objects[r] = map[string]obj{}
	}
	for _, ns := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
		if _, err := c.create(coreResources["namespaces"], "", obj{"metadata": obj{"name": ns}}, false); err != nil {
			panic(err)
		}
	}
	return c
}

func (c *coreAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case path == "/api" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, obj{"kind": "APIVersions", "versions": []string{"v1"},
			"serverAddressByClientCIDRs": []obj{{"clientCIDR": "0.0.0.0/0", "serverAddress": r.Host}}})
		return
	case path == "/api/v1" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, apiResourceList())
		return
	}
	info, ok := request.RequestInfoFrom(r.Context())
	if !ok || !info.IsResourceRequest || info.APIPrefix != "api" || info.APIGroup != "" || info.APIVersion != "v1" {
		writeStatus(w, apierrors.NewNotFound(schema.GroupResource{}, path))
		return
	}
	res := coreResources[info.Resource]
	if res == nil || (info.Subresource != "" && info.Subresource != "status") {
		writeStatus(w, apierrors.NewNotFound(schema.GroupResource{Resource: info.Resource}, info.Name))
		return
	}
	ns := info.Namespace
	if !res.namespaced {
		ns = ""
	}
	dryRun := len(r.URL.Query()["dryRun"]) > 0
	var err error
	switch info.Verb {
	case "get":
		var o obj
		if o, err = c.get(res, ns, info.Name); err == nil {
			writeJSON(w, http.StatusOK, o)
		}
	case "list":
		err = c.list(w, r, res, ns)
	case "watch":
		err = c.watch(w, r, res, ns)
	case "create":
		var body obj
		if body, err = readBody(r); err == nil {
			var o obj
			if o, err = c.create(res, ns, body, dryRun); err == nil {
				writeJSON(w, http.StatusCreated, o)
			}
		}
	case "update":
		var body obj
		if body, err = readBody(r); err == nil {
			var o obj
			if o, err = c.update(res, ns, info.Name, func(obj) (obj, error) { return body, nil }, dryRun); err == nil {
				writeJSON(w, http.StatusOK, o)
			}
		}
	case "patch":
		var patch []byte
		if patch, err = io.ReadAll(r.Body); err == nil {
			ctype := strings.TrimSpace(strings.Split(r.Header.Get("Content-Type"), ";")[0])
			var o obj
			if o, err = c.update(res, ns, info.Name, func(cur obj) (obj, error) {
				return applyPatch(res, cur, ctype, patch)
			}, dryRun); err == nil {
				writeJSON(w, http.StatusOK, o)
			}
		}
	case "delete":
		if err = c.delete(res, ns, info.Name, dryRun); err == nil {
			writeJSON(w, http.StatusOK, obj{"kind": "Status", "apiVersion": "v1", "metadata": obj{},
				"status": metav1.StatusSuccess, "details": obj{"name": info.Name, "kind": res.name}})
		}
	default:
		err = apierrors.NewMethodNotSupported(schema.GroupResource{Resource: res.name}, info.Verb)
	}
	if err != nil {
		writeStatus(w, err)
	}
}

func apiResourceList() obj {
	var resources []obj
	names := make([]string, 0, len(coreResources))
	for n := range coreResources {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		res := coreResources[n]
		resources = append(resources, obj{
			"name": res.name, "singularName": res.singular, "namespaced": res.namespaced, "kind": res.kind,
			"shortNames": res.shortNames,
			"verbs":      []string{"create", "delete", "get", "list", "patch", "update", "watch"},
		})
	}
	return obj{"kind": "APIResourceList", "groupVersion": "v1", "resources": resources}
}

func key(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

func meta(o obj) obj {
	m, _ := o["metadata"].(obj)
	return m
}

func str(o obj, k string) string {
	s, _ := o[k].(string)
	return s
}

func (c *coreAPI) get(res *coreResource, ns, name string) (obj, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	o, ok := c.objects[res.name][key(ns, name)]
	if !ok {
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: res.name}, name)
	}
	return o, nil
}

// commit stores (or, with o == nil, removes) an object; callers hold c.mu.
func (c *coreAPI) commit(res *coreResource, k, typ string, o obj) {
	c.objects[res.name][k] = o
	if typ == "DELETED" {
		delete(c.objects[res.name], k)
	}
	c.history = append(c.history, watchEvent{Type: typ, Object: o, rv: c.rv, resource: res.name})
	if len(c.history) > maxHistory {
		c.history = append([]watchEvent(nil), c.history[len(c.history)-maxHistory/2:]...)
	}
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *coreAPI) create(res *coreResource, ns string, body obj, dryRun bool) (obj, error) {
	if err := checkKind(res, body); err != nil {
		return nil, err
	}
	m := meta(body)
	if m == nil {
		m = obj{}
	}
	name := str(m, "name")
	if name == "" && str(m, "generateName") != "" {
		name = str(m, "generateName") + utilrand.String(5)
	}
	if name == "" {
		return nil, apierrors.NewBadRequest("metadata.name or metadata.generateName is required")
	}
	if res.namespaced {
		if bns := str(m, "namespace"); bns != "" && bns != ns {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("the namespace of the object (%s) does not match the namespace on the request (%s)", bns, ns))
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	k := key(ns, name)
	if _, exists := c.objects[res.name][k]; exists {
		return nil, apierrors.NewAlreadyExists(schema.GroupResource{Resource: res.name}, name)
	}
	o := copyObj(body)
	nm := copyObj(m)
	nm["name"] = name
	if res.namespaced {
		nm["namespace"] = ns
	}
	nm["uid"] = string(uuid.NewUUID())
	nm["creationTimestamp"] = time.Now().UTC().Format(time.RFC3339)
	o["apiVersion"], o["kind"], o["metadata"] = "v1", res.kind, nm
	if res.name == "namespaces" {
		lbl, _ := nm["labels"].(obj)
		lbl = copyObj(lbl)
		lbl[corev1.LabelMetadataName] = name
		nm["labels"] = lbl
		o["status"] = obj{"phase": "Active"}
	}
	if dryRun {
		return o, nil
	}
	c.rv++
	nm["resourceVersion"] = strconv.FormatUint(c.rv, 10)
	c.commit(res, k, "ADDED", o)
	return o, nil
}

// update replaces an object with mutate(current); a resourceVersion in the
// result that differs from the stored one is a conflict, as in Kubernetes.
func (c *coreAPI) update(res *coreResource, ns, name string, mutate func(obj) (obj, error), dryRun bool) (obj, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := key(ns, name)
	cur, ok := c.objects[res.name][k]
	if !ok {
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: res.name}, name)
	}
	next, err := mutate(cur)
	if err != nil {
		return nil, err
	}
	if err := checkKind(res, next); err != nil {
		return nil, err
	}
	o := copyObj(next)
	nm := copyObj(meta(next))
	cm := meta(cur)
	if rv := str(nm, "resourceVersion"); rv != "" && rv != str(cm, "resourceVersion") {
		return nil, apierrors.NewConflict(schema.GroupResource{Resource: res.name}, name,
			fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
	}
	if n := str(nm, "name"); n != "" && n != name {
		return nil, apierrors.NewBadRequest("metadata.name does not match the name on the request")
	}
	for _, f := range []string{"name", "namespace", "uid", "creationTimestamp"} {
		if v, ok := cm[f]; ok {
			nm[f] = v
		}
	}
	o["apiVersion"], o["kind"], o["metadata"] = "v1", res.kind, nm
	if dryRun {
		return o, nil
	}
	c.rv++
	nm["resourceVersion"] = strconv.FormatUint(c.rv, 10)
	c.commit(res, k, "MODIFIED", o)
	return o, nil
}

func (c *coreAPI) delete(res *coreResource, ns, name string, dryRun bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := key(ns, name)
	cur, ok := c.objects[res.name][k]
	if !ok {
		return apierrors.NewNotFound(schema.GroupResource{Resource: res.name}, name)
	}
	if dryRun {
		return nil
	}
	gone := func(r *coreResource, k string, cur obj) {
		c.rv++
		o := copyObj(cur)
		nm := copyObj(meta(cur))
		nm["resourceVersion"] = strconv.FormatUint(c.rv, 10)
		o["metadata"] = nm
		c.commit(r, k, "DELETED", o)
	}
	gone(res, k, cur)
	if res.name == "namespaces" { // a namespace takes its events with it
		for _, r := range coreResources {
			if !r.namespaced {
				continue
			}
			for ek, eo := range c.objects[r.name] {
				if strings.HasPrefix(ek, name+"/") {
					gone(r, ek, eo)
				}
			}
		}
	}
	return nil
}

type filter struct {
	ns     string
	labels labels.Selector
	fields fields.Selector
}

func newFilter(r *http.Request, ns string) (*filter, error) {
	q := r.URL.Query()
	ls, err := labels.Parse(q.Get("labelSelector"))
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	fsel, err := fields.ParseSelector(q.Get("fieldSelector"))
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	return &filter{ns: ns, labels: ls, fields: fsel}, nil
}

func (f *filter) match(o obj) bool {
	m := meta(o)
	if f.ns != "" && str(m, "namespace") != f.ns {
		return false
	}
	lbl := labels.Set{}
	if l, ok := m["labels"].(obj); ok {
		for k, v := range l {
			lbl[k], _ = v.(string)
		}
	}
	fset := fields.Set{"metadata.name": str(m, "name"), "metadata.namespace": str(m, "namespace")}
	if inv, ok := o["involvedObject"].(obj); ok {
		for _, k := range []string{"kind", "namespace", "name", "uid", "apiVersion"} {
			fset["involvedObject."+k] = str(inv, k)
		}
		fset["reason"], fset["type"] = str(o, "reason"), str(o, "type")
	}
	return f.labels.Matches(lbl) && f.fields.Matches(fset)
}

func (c *coreAPI) list(w http.ResponseWriter, r *http.Request, res *coreResource, ns string) error {
	f, err := newFilter(r, ns)
	if err != nil {
		return err
	}
	c.mu.Lock()
	items, rv := c.snapshot(res, f)
	c.mu.Unlock()
	writeJSON(w, http.StatusOK, obj{"kind": res.kind + "List", "apiVersion": "v1",
		"metadata": obj{"resourceVersion": strconv.FormatUint(rv, 10)}, "items": items})
	return nil
}

// snapshot returns the matching objects sorted by key; callers hold c.mu.
func (c *coreAPI) snapshot(res *coreResource, f *filter) ([]obj, uint64) {
	keys := make([]string, 0, len(c.objects[res.name]))
	for k := range c.objects[res.name] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	items := []obj{}
	for _, k := range keys {
		if o := c.objects[res.name][k]; f.match(o) {
			items = append(items, o)
		}
	}
	return items, c.rv
}

func (c *coreAPI) watch(w http.ResponseWriter, r *http.Request, res *coreResource, ns string) error {
	f, err := newFilter(r, ns)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	timeout := 30 * time.Minute
	if s := q.Get("timeoutSeconds"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return apierrors.NewBadRequest("invalid timeoutSeconds")
		}
		if n > 0 {
			timeout = time.Duration(n) * time.Second
		}
	}
	var since uint64
	var initial []obj
	c.mu.Lock()
	if rvs := q.Get("resourceVersion"); rvs == "" || rvs == "0" {
		initial, since = c.snapshot(res, f)
	} else if since, err = strconv.ParseUint(rvs, 10, 64); err != nil {
		c.mu.Unlock()
		return apierrors.NewBadRequest("invalid resourceVersion")
	} else if len(c.history) > 0 && since+1 < c.history[0].rv {
		c.mu.Unlock()
		return apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %d (%d)", since, c.history[0].rv-1))
	}
	c.mu.Unlock()

	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Transfer-Encoding", "chunked")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	send := func(ev watchEvent) bool {
		if err := enc.Encode(ev); err != nil {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		return true
	}
	for _, o := range initial {
		if !send(watchEvent{Type: "ADDED", Object: o}) {
			return nil
		}
	}
	if flusher != nil {
		flusher.Flush()
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		changed := c.changed
		start := sort.Search(len(c.history), func(i int) bool { return c.history[i].rv > since })
		pending := append([]watchEvent(nil), c.history[start:]...)
		expired := len(c.history) > 0 && since+1 < c.history[0].rv
		c.mu.Unlock()
		if expired { // events this watcher had not seen were trimmed
			st := apierrors.NewResourceExpired("too old resource version").Status()
			st.Kind, st.APIVersion = "Status", "v1"
			raw, _ := json.Marshal(st)
			var o obj
			_ = json.Unmarshal(raw, &o)
			send(watchEvent{Type: "ERROR", Object: o})
			return nil
		}
		for _, ev := range pending {
			since = ev.rv
			if ev.resource == res.name && f.match(ev.Object) && !send(ev) {
				return nil
			}
		}
		select {
		case <-changed:
		case <-deadline.C:
			return nil
		case <-r.Context().Done():
			return nil
		}
	}
}

func applyPatch(res *coreResource, cur obj, ctype string, patch []byte) (obj, error) {
	orig, err := json.Marshal(cur)
	if err != nil {
		return nil, err
	}
	var out []byte
	switch ctype {
	case "application/merge-patch+json":
		out, err = jsonpatch.MergePatch(orig, patch)
	case "application/json-patch+json":
		var p jsonpatch.Patch
		if p, err = jsonpatch.DecodePatch(patch); err == nil {
			out, err = p.Apply(orig)
		}
	case "application/strategic-merge-patch+json":
		out, err = strategicpatch.StrategicMergePatch(orig, patch, res.patchSchema)
	default:
		return nil, &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: http.StatusUnsupportedMediaType,
			Reason: metav1.StatusReasonUnsupportedMediaType, Message: "the body of the request was in an unsupported format: " + ctype}}
	}
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	var o obj
	if err := json.Unmarshal(out, &o); err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	return o, nil
}

func checkKind(res *coreResource, o obj) error {
	if k := str(o, "kind"); k != "" && k != res.kind {
		return apierrors.NewBadRequest(fmt.Sprintf("kind %q does not match resource %q", k, res.name))
	}
	if v := str(o, "apiVersion"); v != "" && v != "v1" {
		return apierrors.NewBadRequest(fmt.Sprintf("apiVersion %q is not served here (want v1)", v))
	}
	return nil
}

func readBody(r *http.Request) (obj, error) {
	data, err := io.ReadAll(io.LimitReader(r.Body, 3<<20))
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	var o obj
	if err := json.Unmarshal(data, &o); err != nil {
		return nil, apierrors.NewBadRequest("request body must be a JSON object: " + err.Error())
	}
	return o, nil
}

// copyObj is a shallow copy: stored objects are never mutated in place, so
// only the maps we are about to change need copying.
func copyObj(o obj) obj {
	out := make(obj, len(o))
	for k, v := range o {
		out[k] = v
	}
	return out
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeStatus(w http.ResponseWriter, err error) {
	status := apierrors.APIStatus(nil)
	if s, ok := err.(apierrors.APIStatus); ok {
		status = s
	} else {
		status = apierrors.NewInternalError(err)
	}
	st := status.Status()
	st.Kind, st.APIVersion = "Status", "v1"
	writeJSON(w, int(st.Code), st)
}
