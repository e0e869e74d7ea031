package mockidp

// The import job queue: jobs are imported by one worker, in arrival order, because
// SQLite has one writer; jobs waiting together share a transaction.

import (
	"context"
	"errors"
	"sync"
	"time"
)

// job is one import job.
type job struct {
	id         string
	createdAt  time.Time
	upsert     bool
	identifier string
	records    []prepared
	// err fails the whole job (Authgear's result.error), set while it runs.
	err *APIError

	result  []byte    // the marshalled completed ImportJob, nil while pending
	expires time.Time // when a completed job is forgotten
}

// jobQueue runs import jobs one at a time against the store.
type jobQueue struct {
	s    *Server
	ch   chan *job
	done chan struct{}

	mu   sync.Mutex
	jobs map[string]*job
}

func newJobQueue(s *Server) *jobQueue {
	return &jobQueue{s: s, ch: make(chan *job, 256), done: make(chan struct{}), jobs: map[string]*job{}}
}

func (q *jobQueue) submit(ctx context.Context, j *job) error {
	q.mu.Lock()
	now := q.s.now()
	for id, old := range q.jobs {
		if old.result != nil && now.After(old.expires) {
			delete(q.jobs, id)
		}
	}
	q.jobs[j.id] = j
	q.mu.Unlock()
	select {
	case q.ch <- j:
		return nil
	case <-q.done:
	case <-ctx.Done():
	}
	q.mu.Lock()
	delete(q.jobs, j.id)
	q.mu.Unlock()
	return errors.New("import queue closed")
}

func (q *jobQueue) get(id string) *job {
	q.mu.Lock()
	defer q.mu.Unlock()
	j := q.jobs[id]
	if j != nil && j.result != nil && q.s.now().After(j.expires) {
		delete(q.jobs, id)
		return nil
	}
	return j
}

// result returns the completed result, or nil while pending. A completed job that has been
// read is forgotten a minute later (or at retention), so a million-user import does not
// keep every echoed record in memory.
func (q *jobQueue) result(j *job) []byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	if j.result != nil {
		if soon := q.s.now().Add(time.Minute); soon.Before(j.expires) {
			j.expires = soon
		}
	}
	return j.result
}

func (q *jobQueue) run(ctx context.Context) {
	defer close(q.done)
	ids := newIDGen()
	var group []*job
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-q.ch:
			group = append(group[:0], j)
			n := len(j.records)
		more:
			for n < maxTxRecords {
				select {
				case j := <-q.ch:
					group = append(group, j)
					n += len(j.records)
				default:
					break more
				}
			}
			results, err := q.s.runJobs(ctx, group, ids)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				q.s.log.Error("import jobs failed", "jobs", len(group), "err", err)
				results = results[:0]
				for _, j := range group {
					results = append(results, q.s.failedJobResult(j, err))
				}
			}
			q.mu.Lock()
			expires := q.s.now().Add(q.s.cfg.JobRetention)
			for i, j := range group {
				j.result, j.records = results[i], nil
				j.expires = expires
			}
			q.mu.Unlock()
			clear(group)
		}
	}
}
